#pragma once
// A hand-written STS client double: records every request, answers with a canned outcome
// (synchronously, or later when `hold` is set).

#include "sts/sts_client.hpp"

#include <deque>
#include <mutex>
#include <vector>

namespace stsauth::testing {

class fake_sts_client final : public sts::sts_client {
public:
    sts::sts_outcome next;  ///< what every call answers
    bool hold = false;      ///< true: keep callbacks until release()

    void get_caller_identity(sts::sts_request request, callback cb) override {
        std::unique_lock lock(mu_);
        requests_.push_back(std::move(request));
        if (hold) {
            held_.push_back(std::move(cb));
            return;
        }
        auto outcome = next;
        lock.unlock();
        cb(outcome);
    }

    void release() {
        std::deque<callback> held;
        sts::sts_outcome outcome;
        {
            std::lock_guard lock(mu_);
            held.swap(held_);
            outcome = next;
        }
        for (auto& cb : held) cb(outcome);
    }

    std::vector<sts::sts_request> requests() const {
        std::lock_guard lock(mu_);
        return requests_;
    }
    std::size_t calls() const { return requests().size(); }

    static sts::sts_outcome identity(std::string arn, std::string account, std::string user_id) {
        sts::sts_outcome o;
        o.kind = sts::outcome_kind::ok;
        o.identity = {std::move(arn), std::move(account), std::move(user_id)};
        o.reason = "ok";
        o.http_status = 200;
        return o;
    }
    static sts::sts_outcome failure(sts::outcome_kind kind, std::string reason, unsigned status) {
        sts::sts_outcome o;
        o.kind = kind;
        o.reason = std::move(reason);
        o.http_status = status;
        return o;
    }

private:
    mutable std::mutex mu_;
    std::vector<sts::sts_request> requests_;
    std::deque<callback> held_;
};

}  // namespace stsauth::testing
