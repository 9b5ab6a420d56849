// Embedding vtrans: load a Hugging Face sequence classifier (BERT, RoBERTa, GPT-2 or LLaMA) with
// its tokenizer and classify one sentence.
//   classify MODEL_DIR "a sentence to classify"
#include <cstdio>
#include <iostream>

#include <vtrans/io/model_config.hpp>
#include <vtrans/nn/load.hpp>
#include <vtrans/tensor/cpu.hpp>  // the backend this program runs on
#include <vtrans/text/tokenizer.hpp>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: classify MODEL_DIR \"sentence\"\n";
    return 2;
  }
  try {
    const std::string dir = argv[1];
    const auto tokenizer = vtrans::text::load_tokenizer(dir);
    const auto config = vtrans::io::load_config(dir + "/config.json");
    return vtrans::nn::with_family(config.family, [&](auto family) {
      auto model = vtrans::nn::load_pretrained<decltype(family)>(dir);
      if (model.head() != vtrans::nn::head_kind::sequence_classification) {
        std::cerr << dir << " is not a sequence classifier\n";
        return 1;
      }
      vtrans::nn::batch_input in;
      in.ids = tokenizer->encode(argv[2]);
      in.batch = 1;
      in.seq = static_cast<vtrans::index>(in.ids.size());
      vtrans::autodiff::no_record inference;  // no tape: values only
      const auto logits = model.forward(in).logits.value().to_host();
      std::size_t best = 0;
      for (std::size_t i = 1; i < logits.size(); ++i)
        if (logits[i] > logits[best]) best = i;
      const auto& labels = model.config().id2label;
      std::printf("%s\n", best < labels.size() ? labels[best].c_str() : std::to_string(best).c_str());
      return 0;
    });
  } catch (const std::exception& e) {
    std::cerr << "classify: " << e.what() << "\n";
    return 1;
  }
}
