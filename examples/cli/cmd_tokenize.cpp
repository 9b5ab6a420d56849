// vtrans tokenize: text to token ids (or back with --decode) with any tokenizer load_tokenizer reads.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "command.hpp"
#include "vtrans/text/tokenizer.hpp"

namespace {

namespace po = boost::program_options;
using vtrans::text::token_id;

void print_ids(std::ostream& out, const std::vector<token_id>& ids) {
  for (std::size_t i = 0; i < ids.size(); ++i) out << (i ? " " : "") << ids[i];
  out << "\n";
}

int run(int argc, char** argv) {
  po::options_description opts("vtrans tokenize: text to token ids, one output line per input line\n\noptions");
  std::string dir, text, text_file;
  opts.add_options()
    ("help,h", "show this help")
    ("tokenizer,t", po::value(&dir)->value_name("DIR"),
     "folder with tokenizer.json, vocab.txt, vocab.json + merges.txt, encoder.json + vocab.bpe or tokenizer.model")
    ("text", po::value(&text)->value_name("TEXT"), "text to encode (each line separately)")
    ("text-file", po::value(&text_file)->value_name("FILE"), "file to encode line by line ('-' = standard input)")
    ("pair", "each line is 'A<TAB>B', encoded as a sentence pair")
    ("type-ids", "after each line of ids, print a line of token type ids")
    ("no-special", "omit special tokens ([CLS]/[SEP], <s>/</s>, BOS)")
    ("decode", "the reverse: each input line holds space-separated ids; print the text")
    ("info", "print the tokenizer kind, vocabulary size and special ids, then exit");
  po::variables_map vm;
  if (!vtrans::cli::parse_options(argc, argv, opts, vm, "usage: vtrans tokenize --tokenizer DIR (--text TEXT | --text-file FILE) [options]\n\n"))
    return 0;
  if (dir.empty()) {
    std::cerr << "vtrans tokenize: --tokenizer DIR is required (see --help)\n";
    return 2;
  }
  const auto tok = vtrans::text::load_tokenizer(dir);
  if (vm.count("info")) {
    const auto s = tok->specials();
    std::cout << "kind " << tok->kind() << "\nvocab_size " << tok->vocab_size() << "\nbos " << s.bos << "\neos " << s.eos
              << "\ncls " << s.cls << "\nsep " << s.sep << "\npad " << s.pad << "\nunk " << s.unk << "\nmask " << s.mask << "\n";
    return 0;
  }
  if (vm.count("text") == vm.count("text-file")) {
    std::cerr << "vtrans tokenize: give exactly one of --text and --text-file (see --help)\n";
    return 2;
  }
  std::ifstream file;
  std::istringstream inline_text(text);
  std::istream* in = &inline_text;
  if (vm.count("text-file") && text_file != "-") {
    file.open(text_file, std::ios::binary);
    if (!file) throw std::runtime_error(text_file + ": cannot open file");
    in = &file;
  } else if (vm.count("text-file")) {
    in = &std::cin;
  }
  const bool special = !vm.count("no-special"), pair = vm.count("pair") != 0, types = vm.count("type-ids") != 0;
  std::size_t lineno = 0;
  for (std::string line; std::getline(*in, line);) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string where = (vm.count("text") ? std::string("--text") : text_file) + ":" + std::to_string(lineno);
    try {
      if (vm.count("decode")) {
        std::vector<token_id> ids;
        std::istringstream fields(line);
        for (std::string f; fields >> f;) {
          std::size_t used = 0;
          const long v = std::stol(f, &used);
          if (used != f.size()) throw vtrans::usage_error("not an id: '" + f + "'");
          ids.push_back(static_cast<token_id>(v));
        }
        std::cout << tok->decode(ids, !vm.count("no-special")) << "\n";
      } else if (pair) {
        const auto tab = line.find('\t');
        if (tab == std::string::npos) throw vtrans::usage_error("--pair needs 'A<TAB>B' lines");
        const auto enc = tok->encode_pair(line.substr(0, tab), line.substr(tab + 1), special);
        print_ids(std::cout, enc.ids);
        if (types) print_ids(std::cout, enc.type_ids);
      } else {
        const auto ids = tok->encode(line, special);
        print_ids(std::cout, ids);
        if (types) print_ids(std::cout, std::vector<token_id>(ids.size(), 0));
      }
    } catch (const std::exception& e) {
      throw std::runtime_error(where + ": " + e.what());
    }
  }
  return 0;
}

static const bool registered = vtrans::cli::add("tokenize", "text to token ids", run);

}  // namespace
