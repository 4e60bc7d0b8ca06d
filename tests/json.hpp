// A small strict JSON parser for the tests (RFC 8259: objects, arrays,
// strings with escapes, numbers, true, false, null). Rejects trailing
// garbage, control characters in strings and invalid escapes.
#ifndef ABT_TESTS_JSON_HPP
#define ABT_TESTS_JSON_HPP

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace testing {
namespace json {

struct value {
    enum class kind { null, boolean, number, string, array, object } type = kind::null;
    bool is_null = true;
    bool boolean = false;
    double number = 0;
    std::string string;
    std::vector<value> array;
    std::map<std::string, value> object;

    /// The member `key`, or a null value when there is none.
    const value& operator[](const std::string& key) const {
        static const value none;
        const auto it = object.find(key);
        return it == object.end() ? none : it->second;
    }
};

class parser {
public:
    explicit parser(const std::string& text) : s_(text) {}
    bool document(value& v) {
        if (!parse_value(v)) return false;
        skip_space();
        return i_ == s_.size();
    }

private:
    void skip_space() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
    }
    bool literal(const char* word) {
        const std::string w(word);
        if (s_.compare(i_, w.size(), w) != 0) return false;
        i_ += w.size();
        return true;
    }
    bool parse_value(value& v) {
        skip_space();
        if (i_ >= s_.size()) return false;
        v = value{};
        const char c = s_[i_];
        if (c == '{') return parse_object(v);
        if (c == '[') return parse_array(v);
        if (c == '"') {
            v.type = value::kind::string;
            v.is_null = false;
            return parse_string(v.string);
        }
        if (literal("true") || literal("false")) {
            v.type = value::kind::boolean;
            v.is_null = false;
            v.boolean = s_[i_ - 1] == 'e' && s_[i_ - 2] == 'u';
            return true;
        }
        if (literal("null")) return true;
        return parse_number(v);
    }
    bool parse_number(value& v) {
        const std::size_t start = i_;
        if (i_ < s_.size() && s_[i_] == '-') ++i_;
        if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') return false;
        if (s_[i_] == '0') {
            ++i_;
        } else {
            while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
        }
        if (i_ < s_.size() && s_[i_] == '.') {
            ++i_;
            if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') return false;
            while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
        }
        if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            ++i_;
            if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
            if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') return false;
            while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
        }
        v.type = value::kind::number;
        v.is_null = false;
        v.number = std::strtod(s_.substr(start, i_ - start).c_str(), nullptr);
        return true;
    }
    static void append_utf8(std::string& out, unsigned long cp) {
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
    bool hex4(unsigned long& cp) {
        if (i_ + 4 > s_.size()) return false;
        const std::string digits = s_.substr(i_, 4);
        for (char d : digits)
            if (!((d >= '0' && d <= '9') || (d >= 'a' && d <= 'f') || (d >= 'A' && d <= 'F'))) return false;
        cp = std::strtoul(digits.c_str(), nullptr, 16);
        i_ += 4;
        return true;
    }
    bool parse_string(std::string& out) {
        ++i_;  // the opening quote
        while (i_ < s_.size()) {
            const unsigned char c = static_cast<unsigned char>(s_[i_++]);
            if (c == '"') return true;
            if (c < 0x20) return false;
            if (c != '\\') {
                out += static_cast<char>(c);
                continue;
            }
            if (i_ >= s_.size()) return false;
            const char e = s_[i_++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    unsigned long cp = 0;
                    if (!hex4(cp)) return false;
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        unsigned long low = 0;
                        if (!literal("\\u") || !hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    }
                    append_utf8(out, cp);
                    break;
                }
                default: return false;
            }
        }
        return false;
    }
    bool parse_array(value& v) {
        ++i_;
        v.type = value::kind::array;
        v.is_null = false;
        skip_space();
        if (i_ < s_.size() && s_[i_] == ']') {
            ++i_;
            return true;
        }
        for (;;) {
            v.array.emplace_back();
            if (!parse_value(v.array.back())) return false;
            skip_space();
            if (i_ >= s_.size()) return false;
            if (s_[i_] == ']') {
                ++i_;
                return true;
            }
            if (s_[i_++] != ',') return false;
        }
    }
    bool parse_object(value& v) {
        ++i_;
        v.type = value::kind::object;
        v.is_null = false;
        skip_space();
        if (i_ < s_.size() && s_[i_] == '}') {
            ++i_;
            return true;
        }
        for (;;) {
            skip_space();
            std::string key;
            if (i_ >= s_.size() || s_[i_] != '"' || !parse_string(key)) return false;
            skip_space();
            if (i_ >= s_.size() || s_[i_++] != ':') return false;
            if (!parse_value(v.object[key])) return false;
            skip_space();
            if (i_ >= s_.size()) return false;
            if (s_[i_] == '}') {
                ++i_;
                return true;
            }
            if (s_[i_++] != ',') return false;
        }
    }

    const std::string& s_;
    std::size_t i_ = 0;
};

/// Parses a whole document; false on any syntax error.
inline bool parse(const std::string& text, value& out) { return parser(text).document(out); }

}  // namespace json
}  // namespace testing

#endif
