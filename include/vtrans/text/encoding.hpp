#pragma once
// What every tokenizer returns: token ids plus BERT-style segment (token type) ids.
#include <cstdint>
#include <vector>

namespace vtrans::text {

using token_id = std::int32_t;

struct encoding {
  std::vector<token_id> ids;
  std::vector<token_id> type_ids;  // same length as ids; 0 for the first sequence, 1 for the second (BERT)
};

}  // namespace vtrans::text
