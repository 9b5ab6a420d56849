#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "temp_dir.hpp"
#include "vtrans/train/jsonl_log.hpp"
#include "vtrans/train/progress.hpp"

using namespace vtrans::train;

TEST_CASE("progress: durations") {
  CHECK(progress::format_duration(0) == "00:00");
  CHECK(progress::format_duration(75.4) == "01:15");
  CHECK(progress::format_duration(3725) == "1:02:05");
  CHECK(progress::format_duration(-1) == "--:--");
}

TEST_CASE("progress: plain lines every N steps") {
  std::ostringstream out;
  double now = 100.0;
  progress_options opt;
  opt.style = progress_style::lines;
  opt.out = &out;
  opt.log_every_steps = 2;
  opt.log_every_seconds = 0;
  opt.unit = "ex";
  opt.clock = [&] { return now; };
  {
    progress p("train", 4, opt);
    now = 101;
    p.step(2.0, 8);
    now = 102;
    p.step(1.0, 8);  // step 2: prints mean loss 1.5, 16 ex in 2 s, eta 2 s
    CHECK(out.str() == "[train] step 2/4 loss 1.5000 8.0 ex/s elapsed 00:02 eta 00:02\n");
    now = 103;
    p.set_note("lr 1e-3");
    p.step(0.5, 8);
    CHECK(out.str().find("step 3") == std::string::npos);
  }  // the destructor prints the last state
  CHECK(out.str().find("[train] step 3/4 loss 0.5000 8.0 ex/s elapsed 00:03 eta 00:01 lr 1e-3\n") != std::string::npos);
}

TEST_CASE("progress: lines by time") {
  std::ostringstream out;
  double now = 0;
  progress_options opt;
  opt.style = progress_style::lines;
  opt.out = &out;
  opt.log_every_seconds = 10;
  opt.clock = [&] { return now; };
  progress p("eval", 0, opt);
  for (int i = 0; i < 5; ++i) {
    now += 4;
    p.step();
  }
  p.finish();
  // printed at t=12 (step 3), t=20 is not 10 s after 12, finish prints step 5.
  CHECK(out.str() == "[eval] step 3 elapsed 00:12\n[eval] step 5 elapsed 00:20\n");
}

TEST_CASE("progress: terminal bar") {
  std::ostringstream out;
  double now = 0;
  progress_options opt;
  opt.style = progress_style::bar;
  opt.out = &out;
  opt.bar_width = 10;
  opt.redraw_seconds = 0.5;
  opt.clock = [&] { return now; };
  progress p("prune", 10, opt);
  now = 1;
  p.update(5, 2.0, 50);
  CHECK(out.str() == "\rprune [#####.....] 5/10 loss 2.0000 50.0 it/s 00:01<00:01\033[K");
  now = 1.1;
  p.update(6, 4.0, 10);  // within redraw interval: nothing
  CHECK(out.str().find("6/10") == std::string::npos);
  now = 2;
  p.update(10, 1.0, 40);
  p.finish();
  CHECK(out.str().find("\rprune [##########] 10/10") != std::string::npos);
  CHECK(out.str().back() == '\n');
  // automatic style on a non-terminal stream is lines
  progress_options a;
  a.out = &out;
  progress q("x", 1, a);
  CHECK(q.style() == progress_style::lines);
}

TEST_CASE("jsonl_log: one flushed object per line") {
  vtrans_test::temp_dir d;
  const auto f = d.path() / "run" / "metrics.jsonl";
  {
    jsonl_log log(f);
    log.write({{"step", 1}, {"loss", 2.5}});
    // Flushed: readable before the log is closed.
    auto now = read_jsonl(f);
    REQUIRE(now.size() == 1);
    CHECK(now[0]["loss"] == 2.5);
    log.write({{"step", 2}, {"phase", "eval"}});
    CHECK_THROWS(log.write(nlohmann::json::array({1, 2})));
    CHECK(log.lines_written() == 2);
  }
  {
    jsonl_log again(f);  // appends
    again.write({{"step", 3}});
  }
  auto all = read_jsonl(f);
  REQUIRE(all.size() == 3);
  CHECK(all[1]["phase"] == "eval");
  CHECK(all[2]["step"] == 3);
  jsonl_log fresh(f, true);
  fresh.write({{"x", 1}});
  CHECK(read_jsonl(f).size() == 1);
}
