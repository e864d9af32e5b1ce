// Log lines stay one line (issue 13): host_name / host_version come from the host and enter the
// refusal line claw_init logs; a newline or an escape sequence in them must not split the line or
// reach a terminal. Checked through claw_init (every refusal path) and escape_for_log directly.
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "claw/plugin.h"
#include "core_check.h"
#include "negotiate.h"

namespace {

struct Lines {
  std::mutex lock;
  std::vector<std::string> lines;
};

void capture(void *user, int32_t /*level*/, const char *message) {
  auto *l = static_cast<Lines *>(user);
  std::lock_guard<std::mutex> g(l->lock);
  l->lines.emplace_back(message);
}

std::string escape(const char *s, size_t cap = 256) {
  std::vector<char> buf(cap);
  claw::escape_for_log(s, buf.data(), buf.size());
  return buf.data();
}

// No byte below 0x20, no DEL, no C1 control and no U+2028/2029 in the line.
bool one_printable_line(const std::string &s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) return false;
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9F) return false;
    if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(s[i + 2]) == 0xA8 ||
         static_cast<unsigned char>(s[i + 2]) == 0xA9))
      return false;
  }
  return true;
}

}  // namespace

CLAW_TEST(escape_for_log_shows_control_characters_as_escapes) {
  CHECK_STR_EQ(escape("claw-host").c_str(), "claw-host");
  CHECK_STR_EQ(escape("a\nb\rc\td").c_str(), "a\\nb\\rc\\td");
  CHECK_STR_EQ(escape("\x1b[31mred\x1b[0m").c_str(), "\\x1b[31mred\\x1b[0m");
  CHECK_STR_EQ(escape("back\\slash").c_str(), "back\\\\slash");
  CHECK_STR_EQ(escape("del\x7f").c_str(), "del\\x7f");
  CHECK_STR_EQ(escape("caf\xC3\xA9 \xE2\x80\x93 ok").c_str(),
               "caf\xC3\xA9 \xE2\x80\x93 ok");  // UTF-8 kept
  CHECK_STR_EQ(escape("c1\xC2\x9B"
                      "31m")
                   .c_str(),
               "c1\\u009b31m");  // C1 CSI
  CHECK_STR_EQ(escape("ls\xE2\x80\xA8ps\xE2\x80\xA9").c_str(), "ls\\u2028ps\\u2029");
  CHECK_STR_EQ(escape("bad\xFF\xC3").c_str(), "bad\\xff\\xc3");  // not UTF-8
  CHECK_STR_EQ(escape(nullptr).c_str(), "");
  // Cut at an escape boundary, with "...", never past the buffer.
  CHECK_STR_EQ(escape("abcdefghij", 8).c_str(), "abcd...");
  CHECK_STR_EQ(escape("ab\ncdefgh", 8).c_str(), "ab\\n...");
  CHECK_STR_EQ(escape("abcdefg", 8).c_str(), "abcdefg");
  char tiny[1] = {'x'};
  CHECK_EQ(claw::escape_for_log("abc", tiny, 1), static_cast<size_t>(0));
  CHECK_EQ(tiny[0], '\0');
}

CLAW_TEST(claw_init_refusal_line_escapes_host_name_and_version) {
  const char *names[] = {"evil\nhost INJECTED claw ABI 1.0 agreed", "\x1b]0;title\x07\x1b[2J",
                         "cr\rlf",
                         "\xC2\x9B"
                         "31m"};
  for (const char *name : names) {
    for (int path = 0; path < 3; ++path) {
      Lines lines;
      claw_host_info h;
      std::memset(&h, 0, sizeof h);
      h.struct_size = sizeof h;
      h.abi_major = path == 0 ? CLAW_ABI_MAJOR + 1 : CLAW_ABI_MAJOR;  // 0: ABI refusal
      h.abi_minor_max = CLAW_ABI_MINOR;
      h.host_name = name;
      h.host_version = "1.0\n2.0\x1b[0m";
      h.user_data = &lines;
      h.log = capture;
      claw_plugin_info p;
      std::memset(&p, 0, sizeof p);
      p.struct_size = path == 2 ? 4 : sizeof p;                    // 2: struct size refusal
      const int32_t st = claw_init(&h, path == 1 ? nullptr : &p);  // 1: NULL out
      CHECK(st != CLAW_OK);
      CHECK_EQ(lines.lines.size(), static_cast<size_t>(1));
      if (lines.lines.empty()) continue;
      const std::string &line = lines.lines[0];
      CHECK(one_printable_line(line));
      CHECK_CONTAINS(line.c_str(), "1.0\\n2.0\\x1b[0m");
    }
  }
}
