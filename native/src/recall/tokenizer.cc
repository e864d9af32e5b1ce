#include "tokenizer.h"

#include <cstring>
#include <vector>

namespace claw {
namespace recall {

namespace {

// English stop words (the NLTK list; contractions appear as the pieces the tokenizer splits them
// into: "don't" → "don" + "t"). Matched after folding, before plural folding.
const char* const kStopWords[] = {
    "i",       "me",      "my",      "myself",   "we",         "our",    "ours",    "ourselves",
    "you",     "your",    "yours",   "yourself", "yourselves", "he",     "him",     "his",
    "himself", "she",     "her",     "hers",     "herself",    "it",     "its",     "itself",
    "they",    "them",    "their",   "theirs",   "themselves", "what",   "which",   "who",
    "whom",    "this",    "that",    "these",    "those",      "am",     "is",      "are",
    "was",     "were",    "be",      "been",     "being",      "have",   "has",     "had",
    "having",  "do",      "does",    "did",      "doing",      "a",      "an",      "the",
    "and",     "but",     "if",      "or",       "because",    "as",     "until",   "while",
    "of",      "at",      "by",      "for",      "with",       "about",  "against", "between",
    "into",    "through", "during",  "before",   "after",      "above",  "below",   "to",
    "from",    "up",      "down",    "in",       "out",        "on",     "off",     "over",
    "under",   "again",   "further", "then",     "once",       "here",   "there",   "when",
    "where",   "why",     "how",     "all",      "any",        "both",   "each",    "few",
    "more",    "most",    "other",   "some",     "such",       "no",     "nor",     "not",
    "only",    "own",     "same",    "so",       "than",       "too",    "very",    "s",
    "t",       "can",     "will",    "just",     "don",        "should", "now",     "d",
    "ll",      "m",       "o",       "re",       "ve",         "y",      "ain",     "aren",
    "couldn",  "didn",    "doesn",   "hadn",     "hasn",       "haven",  "isn",     "ma",
    "mightn",  "mustn",   "needn",   "shan",     "shouldn",    "wasn",   "weren",   "won",
    "wouldn"};

constexpr size_t kMaxStopWordLen = 10;

// Stop words bucketed by (length, first letter): a lookup is at most a few memcmp, no hashing.
struct StopTable {
  std::vector<std::string_view> bucket[kMaxStopWordLen + 1][26];
  StopTable() {
    for (const char* w : kStopWords) {
      const std::string_view v(w);
      bucket[v.size()][v[0] - 'a'].push_back(v);
    }
  }
};

const StopTable& Stops() {
  static const StopTable table;
  return table;
}

}  // namespace

bool IsStopWord(std::string_view w) {
  if (w.empty() || w.size() > kMaxStopWordLen) return false;
  const unsigned first = static_cast<unsigned char>(w[0]) - 'a';
  if (first >= 26) return false;
  for (const std::string_view s : Stops().bucket[w.size()][first]) {
    if (std::memcmp(s.data(), w.data(), w.size()) == 0) return true;
  }
  return false;
}

size_t FoldPlural(char* s, size_t n) {
  if (n < 4 || s[n - 1] != 's') return n;
  const char a = s[n - 2];
  const char b = s[n - 3];
  if (b == 'i' && a == 'e') {  // "-ies"
    const char c = s[n - 4];
    if (c != 'e' && c != 'a') {
      s[n - 3] = 'y';
      return n - 2;
    }
  }
  if (a == 'e') {
    // Extra to Harman: "-xes", "-shes", "-sses" drop "es" (boxes, fixes, crashes, classes).
    if (b == 'x' || ((b == 'h' || b == 's') && s[n - 4] == 's')) return n - 2;
    if (b != 'a' && b != 'e' && b != 'o') return n - 1;  // "-es" → "-e"
  }
  if (a == 'u' || a == 's') return n;  // "-us", "-ss"
  return n - 1;                        // "-s"
}

}  // namespace recall
}  // namespace claw
