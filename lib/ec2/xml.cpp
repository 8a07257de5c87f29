#include "ec2/xml.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stsauth::ec2::xml {
namespace {

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool is_name_start(char ch) noexcept {
    const auto c = static_cast<unsigned char>(ch);
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || c >= 0x80;
}

bool is_name_char(char ch) noexcept {
    const auto c = static_cast<unsigned char>(ch);
    return is_name_start(ch) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

bool all_space(std::string_view s) noexcept {
    for (char c : s)
        if (!is_space(c)) return false;
    return true;
}

/// XML 1.0 Char production, for numeric character references.
bool is_xml_char(std::uint32_t cp) noexcept {
    return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
           (cp >= 0x10000 && cp <= 0x10FFFF);
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

class parser {
public:
    parser(std::string_view doc, handler& h, const limits& lim) : doc_(doc), h_(h), lim_(lim) {}

    status run() {
        if (auto st = check_characters(); !st) return st;
        if (doc_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
        if (doc_.substr(pos_).starts_with("<?xml") && pos_ + 5 < doc_.size() &&
            (is_space(doc_[pos_ + 5]) || doc_[pos_ + 5] == '?')) {
            if (auto st = skip_until("?>", "unterminated XML declaration"); !st) return st;
        }
        while (pos_ < doc_.size()) {
            if (auto st = stack_.empty() ? step_outside() : step_inside(); !st) return st;
        }
        if (!stack_.empty()) return fail("unclosed element");
        if (!root_seen_) return fail("no root element");
        return ok_status();
    }

private:
    status fail(std::string_view why) const {
        return make_error("bad_xml", "malformed XML at byte " + std::to_string(pos_) + ": " + std::string(why));
    }

    bool at(std::string_view s) const noexcept { return doc_.substr(pos_).starts_with(s); }

    status check_characters() const {
        for (std::size_t i = 0; i < doc_.size(); ++i) {
            const auto c = static_cast<unsigned char>(doc_[i]);
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                return make_error("bad_xml", "malformed XML at byte " + std::to_string(i) + ": control character");
            }
        }
        return ok_status();
    }

    status skip_until(std::string_view end, std::string_view what) {
        const auto found = doc_.find(end, pos_);
        if (found == std::string_view::npos) return fail(what);
        pos_ = found + end.size();
        return ok_status();
    }

    /// Comments and processing instructions (allowed anywhere but inside tags).
    std::optional<status> skip_misc() {
        if (at("<!--")) {
            pos_ += 4;
            return skip_until("-->", "unterminated comment");
        }
        if (at("<?")) {
            pos_ += 2;
            return skip_until("?>", "unterminated processing instruction");
        }
        return std::nullopt;
    }

    status step_outside() {
        while (pos_ < doc_.size() && is_space(doc_[pos_])) ++pos_;
        if (pos_ == doc_.size()) return ok_status();
        if (auto st = skip_misc()) return *st;
        if (at("<!")) return fail("DOCTYPE and declarations are not accepted");
        if (doc_[pos_] != '<') return fail("text outside the root element");
        if (root_seen_) return fail("more than one root element");
        return start_tag();
    }

    status step_inside() {
        const char c = doc_[pos_];
        if (c == '<') {
            if (at("</")) return end_tag();
            if (auto st = skip_misc()) return *st;
            if (at("<![CDATA[")) {
                const auto begin = pos_ + 9;
                const auto end = doc_.find("]]>", begin);
                if (end == std::string_view::npos) return fail("unterminated CDATA section");
                text_.append(doc_.substr(begin, end - begin));
                pos_ = end + 3;
                return ok_status();
            }
            if (at("<!")) return fail("declaration inside an element");
            return start_tag();
        }
        if (c == '&') return reference(text_);
        const auto end = doc_.find_first_of("<&", pos_);
        const auto stop = end == std::string_view::npos ? doc_.size() : end;
        text_.append(doc_.substr(pos_, stop - pos_));
        pos_ = stop;
        return ok_status();
    }

    std::optional<std::string_view> name() {
        const auto begin = pos_;
        if (pos_ >= doc_.size() || !is_name_start(doc_[pos_])) return std::nullopt;
        while (pos_ < doc_.size() && is_name_char(doc_[pos_])) ++pos_;
        if (pos_ - begin > lim_.max_name_bytes) return std::nullopt;
        return doc_.substr(begin, pos_ - begin);
    }

    /// `&...;` at pos_: the five predefined entities and numeric character references.
    status reference(std::string& out) {
        const auto semi = doc_.find(';', pos_);
        if (semi == std::string_view::npos || semi - pos_ > 12) return fail("unterminated entity reference");
        const auto ref = doc_.substr(pos_ + 1, semi - pos_ - 1);
        if (ref == "amp") {
            out += '&';
        } else if (ref == "lt") {
            out += '<';
        } else if (ref == "gt") {
            out += '>';
        } else if (ref == "quot") {
            out += '"';
        } else if (ref == "apos") {
            out += '\'';
        } else if (ref.size() >= 2 && ref[0] == '#') {
            const bool hex = ref[1] == 'x';
            const auto digits = ref.substr(hex ? 2 : 1);
            if (digits.empty()) return fail("empty character reference");
            std::uint32_t cp = 0;
            for (char d : digits) {
                std::uint32_t v = 0;
                if (d >= '0' && d <= '9') {
                    v = static_cast<std::uint32_t>(d - '0');
                } else if (hex && d >= 'a' && d <= 'f') {
                    v = static_cast<std::uint32_t>(d - 'a' + 10);
                } else if (hex && d >= 'A' && d <= 'F') {
                    v = static_cast<std::uint32_t>(d - 'A' + 10);
                } else {
                    return fail("bad character reference");
                }
                cp = cp * (hex ? 16 : 10) + v;
                if (cp > 0x10FFFF) return fail("character reference out of range");
            }
            if (!is_xml_char(cp)) return fail("character reference to a non-XML character");
            append_utf8(out, cp);
        } else {
            return fail("unknown entity");
        }
        pos_ = semi + 1;
        return ok_status();
    }

    status attribute_value() {
        if (pos_ >= doc_.size() || (doc_[pos_] != '"' && doc_[pos_] != '\'')) return fail("unquoted attribute value");
        const char quote = doc_[pos_++];
        std::string ignored;
        while (pos_ < doc_.size() && doc_[pos_] != quote) {
            if (doc_[pos_] == '<') return fail("'<' in attribute value");
            if (doc_[pos_] == '&') {
                if (auto st = reference(ignored); !st) return st;
            } else {
                ++pos_;
            }
        }
        if (pos_ >= doc_.size()) return fail("unterminated attribute value");
        ++pos_;
        return ok_status();
    }

    status start_tag() {
        ++pos_;  // '<'
        const auto n = name();
        if (!n) return fail("bad element name");
        bool self_closing = false;
        for (;;) {
            const auto before = pos_;
            while (pos_ < doc_.size() && is_space(doc_[pos_])) ++pos_;
            if (pos_ >= doc_.size()) return fail("unterminated start tag");
            if (at("/>")) {
                pos_ += 2;
                self_closing = true;
                break;
            }
            if (doc_[pos_] == '>') {
                ++pos_;
                break;
            }
            if (pos_ == before) return fail("expected whitespace before an attribute");
            if (!name()) return fail("bad attribute name");
            while (pos_ < doc_.size() && is_space(doc_[pos_])) ++pos_;
            if (pos_ >= doc_.size() || doc_[pos_] != '=') return fail("expected '=' after an attribute name");
            ++pos_;
            while (pos_ < doc_.size() && is_space(doc_[pos_])) ++pos_;
            if (auto st = attribute_value(); !st) return st;
        }
        if (stack_.size() >= lim_.max_depth) return fail("elements nested too deeply");
        if (!stack_.empty()) {
            if (!all_space(text_)) return fail("text mixed with child elements");
            has_children_.back() = true;
        }
        stack_.push_back(*n);
        has_children_.push_back(false);
        text_.clear();
        if (auto st = h_.on_start(stack_); !st) return st;
        return self_closing ? close_element() : ok_status();
    }

    status end_tag() {
        pos_ += 2;  // "</"
        const auto n = name();
        if (!n) return fail("bad element name in end tag");
        while (pos_ < doc_.size() && is_space(doc_[pos_])) ++pos_;
        if (pos_ >= doc_.size() || doc_[pos_] != '>') return fail("unterminated end tag");
        ++pos_;
        if (*n != stack_.back()) return fail("end tag does not match the open element");
        return close_element();
    }

    status close_element() {
        const bool children = has_children_.back();
        if (children && !all_space(text_)) return fail("text mixed with child elements");
        if (auto st = h_.on_end(stack_, children ? std::string_view{} : std::string_view(text_)); !st) return st;
        stack_.pop_back();
        has_children_.pop_back();
        text_.clear();
        if (stack_.empty()) root_seen_ = true;
        return ok_status();
    }

    std::string_view doc_;
    std::size_t pos_ = 0;
    handler& h_;
    const limits& lim_;
    std::vector<std::string_view> stack_;
    std::vector<bool> has_children_;
    std::string text_;
    bool root_seen_ = false;
};

}  // namespace

status parse(std::string_view doc, handler& h, const limits& lim) {
    if (doc.size() > lim.max_bytes) {
        return make_error("too_large", "XML document of " + std::to_string(doc.size()) + " bytes exceeds the limit of " +
                                           std::to_string(lim.max_bytes));
    }
    return parser(doc, h, lim).run();
}

}  // namespace stsauth::ec2::xml
