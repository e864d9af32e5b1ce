// Native microbenchmark of the recall engine (native/src/recall), without Node in the way.
//
//   bench/recall-native/run.ts [docs=10000] [queries=2000] [seed=42]
//
// Corpus: seeded synthetic markdown notes of 200–800 words (Zipf-distributed over a 20,000-word
// vocabulary), each with frontmatter (title, tags), an H1 and 2–4 H2 sections — the shape of a
// ByteRover context tree. Prints, each beside a baseline measured in the same run:
//   build      Upsert one by one and UpsertBatch   vs  parse + tokenize only (the floor)
//   memory     Stats::bytes and resident growth    vs  the corpus size
//   query      median / p99, k = 10, 200-char excerpts  vs  a linear scan of the lower-cased text
//   threads    queries/s on 1 and 2 threads
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "../../native/src/recall/index.h"
#include "../../native/src/recall/markdown.h"
#include "../../native/src/recall/tokenizer.h"
#include "../../native/test/recall_harness.h"  // ResidentKiB

using claw::recall::DocumentInput;
using claw::recall::Index;
using claw::recall::QueryOptions;
using Clock = std::chrono::steady_clock;

namespace {

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t Next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  double Unit() { return static_cast<double>(Next() >> 11) / 9007199254740992.0; }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }
};

std::vector<std::string> MakeVocabulary(Rng& rng, size_t n) {
  static const char* const kSyllables[] = {"ka", "ro", "mi", "te", "sa", "lu", "ne", "po", "di", "va",
                                           "gre", "sto", "pla", "tri", "qu", "zen", "dex", "bor", "ix", "um"};
  std::vector<std::string> v;
  v.reserve(n);
  while (v.size() < n) {
    std::string w;
    const size_t parts = 2 + rng.Below(2);
    for (size_t i = 0; i < parts; ++i) w += kSyllables[rng.Below(20)];
    v.push_back(w);
  }
  return v;
}

// Zipf(s = 1.07) sampler over ranks 0..n-1 by inverse CDF on a precomputed table.
struct Zipf {
  std::vector<double> cdf;
  explicit Zipf(size_t n) : cdf(n) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i) cdf[i] = (sum += 1.0 / std::pow(static_cast<double>(i + 1), 1.07));
    for (double& c : cdf) c /= sum;
  }
  size_t Sample(Rng& rng) const {
    return static_cast<size_t>(std::lower_bound(cdf.begin(), cdf.end(), rng.Unit()) - cdf.begin());
  }
};

std::string MakeNote(Rng& rng, const std::vector<std::string>& vocab, const Zipf& zipf, size_t id) {
  auto word = [&]() -> const std::string& { return vocab[zipf.Sample(rng)]; };
  std::string md = "---\ntitle: " + word() + " " + word() + " " + std::to_string(id) + "\ntags: [" +
                   word() + ", " + word() + "]\n---\n# " + word() + " " + word() + "\n\n";
  const size_t words = 200 + rng.Below(601);
  const size_t sections = 2 + rng.Below(3);
  size_t written = 0;
  for (size_t s = 0; s < sections; ++s) {
    md += "## " + word() + " " + word() + "\n\n";
    const size_t chunk = s + 1 == sections ? words - written : words / sections;
    for (size_t i = 0; i < chunk; ++i) {
      md += word();
      md += (i % 13 == 12) ? ".\n" : " ";
    }
    written += chunk;
    md += "\n\n";
  }
  return md;
}


double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// CPU time of the whole process (every thread).
double ProcessCpuMs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// CPU time of the calling thread: unlike wall time it does not count time spent preempted, so it
// shows the engine's own cost on a busy machine.
double ThreadCpuMs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())) - 1));
  return v[i];
}

// The baseline query: count case-insensitive occurrences of each query word in every note's
// lower-cased text, rank by total count, keep the top 10.
size_t LinearScan(const std::vector<std::string>& lowered, const std::vector<std::string>& words) {
  std::vector<std::pair<size_t, size_t>> top;
  for (size_t d = 0; d < lowered.size(); ++d) {
    size_t count = 0;
    for (const std::string& w : words) {
      for (size_t at = lowered[d].find(w); at != std::string::npos; at = lowered[d].find(w, at + 1)) ++count;
    }
    if (count > 0) top.emplace_back(count, d);
  }
  std::partial_sort(top.begin(), top.begin() + std::min<size_t>(10, top.size()), top.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  return std::min<size_t>(10, top.size());
}

}  // namespace

int main(int argc, char** argv) {
  const size_t ndocs = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
  const size_t nqueries = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 2000;
  const uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 42;
  Rng rng(seed);
  const std::vector<std::string> vocab = MakeVocabulary(rng, 20000);
  const Zipf zipf(vocab.size());

  std::vector<std::string> paths, notes;
  size_t corpus_bytes = 0;
  for (size_t i = 0; i < ndocs; ++i) {
    paths.push_back("context-tree/topic" + std::to_string(i % 40) + "/note-" + std::to_string(i) + ".md");
    notes.push_back(MakeNote(rng, vocab, zipf, i));
    corpus_bytes += notes.back().size();
  }
  std::vector<DocumentInput> inputs;
  for (size_t i = 0; i < ndocs; ++i) inputs.push_back({paths[i], notes[i]});
  std::printf("recall-native: %zu notes, %.1f MB of markdown, %zu queries, seed %llu, %u hardware threads\n",
              ndocs, static_cast<double>(corpus_bytes) / 1e6, nqueries, static_cast<unsigned long long>(seed),
              std::thread::hardware_concurrency());

  // Baseline for the build: parse + tokenize every note, nothing indexed.
  double c0 = ThreadCpuMs();
  auto t0 = Clock::now();
  {
    claw::recall::ParsedDoc parsed;
    claw::recall::Tokenizer tok;
    size_t tokens = 0;
    for (size_t i = 0; i < ndocs; ++i) {
      claw::recall::ParseMarkdown(paths[i], notes[i], &parsed);
      auto count = [&](std::string_view, size_t, size_t) { return ++tokens, true; };
      tok.Run(parsed.title, count);
      tok.Run(parsed.headings, count);
      tok.Run(parsed.body, count);
    }
    if (tokens == 0) std::printf("no tokens?\n");
  }
  const double tokenize_ms = Ms(Clock::now() - t0);
  const double tokenize_cpu = ThreadCpuMs() - c0;

  const long rss_before = recall_test::ResidentKiB();
  c0 = ThreadCpuMs();
  t0 = Clock::now();
  Index serial;
  for (size_t i = 0; i < ndocs; ++i) serial.Upsert(paths[i], notes[i]);
  const double serial_ms = Ms(Clock::now() - t0);
  const double serial_cpu = ThreadCpuMs() - c0;
  const long rss_after = recall_test::ResidentKiB();
  const claw::recall::Stats st = serial.GetStats();

  const double p0 = ProcessCpuMs();
  t0 = Clock::now();
  {
    Index batch;
    batch.UpsertBatch(inputs.data(), inputs.size(), 0);
  }
  const double batch_ms = Ms(Clock::now() - t0);
  const double batch_cpu = ProcessCpuMs() - p0;

  std::printf("\nbuild     upsert one by one  %8.1f ms   (%.2fx parse+tokenize only: %.1f ms)   cpu %.1f ms (%.2fx: %.1f ms)\n",
              serial_ms, serial_ms / tokenize_ms, tokenize_ms, serial_cpu, serial_cpu / tokenize_cpu, tokenize_cpu);
  std::printf("          upsert batch       %8.1f ms   (%.2fx parse+tokenize only, %.2fx one by one)   cpu %.1f ms on %u threads\n",
              batch_ms, batch_ms / tokenize_ms, batch_ms / serial_ms, batch_cpu,
              std::max(1u, std::min(8u, std::thread::hardware_concurrency())));
  std::printf("memory    index heap         %8.1f MB   (%.2fx the markdown)\n", static_cast<double>(st.bytes) / 1e6,
              static_cast<double>(st.bytes) / static_cast<double>(corpus_bytes));
  std::printf("          resident growth    %8.1f MB   (%.2fx the markdown)\n",
              static_cast<double>(rss_after - rss_before) / 1024.0,
              static_cast<double>(rss_after - rss_before) * 1024.0 / static_cast<double>(corpus_bytes));
  std::printf("          %llu terms, %llu postings, %.1f body tokens per note\n",
              static_cast<unsigned long long>(st.terms), static_cast<unsigned long long>(st.postings),
              st.avg_body_tokens);

  // Queries: 1–3 words; half drawn by Zipf (common words), half uniformly (rare words).
  std::vector<std::string> queries;
  std::vector<std::vector<std::string>> query_words;
  for (size_t q = 0; q < nqueries; ++q) {
    const size_t n = 1 + rng.Below(3);
    std::string text;
    std::vector<std::string> words;
    for (size_t i = 0; i < n; ++i) {
      const std::string& w = (q % 2 == 0) ? vocab[zipf.Sample(rng)] : vocab[rng.Below(vocab.size())];
      text += (i ? " " : "") + w;
      words.push_back(w);
    }
    queries.push_back(text);
    query_words.push_back(words);
  }
  QueryOptions qo;
  qo.k = 10;
  qo.excerpt_chars = 200;
  for (size_t i = 0; i < std::min<size_t>(200, queries.size()); ++i) serial.Search(queries[i], qo);  // warm
  std::vector<double> lat, cpu;
  size_t hits = 0;
  for (const std::string& q : queries) {
    const double c = ThreadCpuMs();
    const auto s = Clock::now();
    hits += serial.SearchVisit(q, qo, [](const claw::recall::HitView&) {});
    lat.push_back(Ms(Clock::now() - s));
    cpu.push_back(ThreadCpuMs() - c);
  }
  const double median = Percentile(lat, 0.5);
  const double p99 = Percentile(lat, 0.99);
  const double cpu_median = Percentile(cpu, 0.5);
  const double cpu_p99 = Percentile(cpu, 0.99);

  std::vector<std::string> lowered(notes);
  for (std::string& s : lowered) {
    for (char& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  const size_t nbase = std::min<size_t>(60, queries.size());
  std::vector<double> base;
  for (size_t i = 0; i < nbase; ++i) {
    const auto s = Clock::now();
    LinearScan(lowered, query_words[i]);
    base.push_back(Ms(Clock::now() - s));
  }
  const double base_median = Percentile(base, 0.5);
  const double base_p99 = Percentile(base, 0.99);
  std::printf("\nquery     median             %8.4f ms   (linear scan %.2f ms: %.0fx faster)\n", median,
              base_median, base_median / median);
  std::printf("          p99                %8.4f ms   (linear scan %.2f ms: %.0fx faster)\n", p99, base_p99,
              base_p99 / p99);
  std::printf("          cpu median %.4f ms, p99 %.4f ms, max %.4f ms (time on the CPU, preemption excluded)\n",
              cpu_median, cpu_p99, Percentile(cpu, 1.0));
  std::printf("          %.1f hits per query (k = 10, 200-character excerpts)\n",
              static_cast<double>(hits) / static_cast<double>(queries.size()));

  // Throughput with concurrent readers.
  double qps1 = 0;
  for (unsigned threads : {1u, 2u}) {
    std::atomic<size_t> next{0};
    const auto s = Clock::now();
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        for (size_t i = next++; i < queries.size(); i = next++) serial.SearchVisit(queries[i], qo, [](const claw::recall::HitView&) {});
      });
    }
    for (std::thread& t : pool) t.join();
    const double qps = static_cast<double>(queries.size()) / (Ms(Clock::now() - s) / 1000.0);
    if (threads == 1) qps1 = qps;
    std::printf("threads   %u reader%s          %8.0f queries/s (%.2fx one thread)\n", threads,
                threads == 1 ? " " : "s", qps, qps / qps1);
  }
  std::printf("\nRESULT {\"docs\":%zu,\"build_ms\":%.1f,\"batch_ms\":%.1f,\"tokenize_ms\":%.1f,\"heap_mb\":%.1f,"
              "\"rss_growth_mb\":%.1f,\"median_ms\":%.4f,\"p99_ms\":%.4f,\"cpu_median_ms\":%.4f,\"cpu_p99_ms\":%.4f,"
              "\"scan_median_ms\":%.2f}\n",
              ndocs, serial_ms, batch_ms, tokenize_ms, static_cast<double>(st.bytes) / 1e6,
              static_cast<double>(rss_after - rss_before) / 1024.0, median, p99, cpu_median, cpu_p99, base_median);
  return 0;
}
