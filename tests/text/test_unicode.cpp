#include <doctest/doctest.h>

#include <string>

#include "vtrans/text/unicode.hpp"

using namespace vtrans::text;

TEST_CASE("utf8 round trip of 1- to 4-byte characters") {
  const std::string s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";  // a é € 😀
  const auto cps = utf8_decode(s);
  REQUIRE(cps.size() == 4);
  CHECK(cps[0] == U'a');
  CHECK(cps[1] == 0xE9);
  CHECK(cps[2] == 0x20AC);
  CHECK(cps[3] == 0x1F600);
  CHECK(utf8_encode(cps) == s);
}

TEST_CASE("utf8 errors report the byte offset") {
  const auto offset_of = [](const std::string& s) -> long {
    try {
      utf8_validate(s);
    } catch (const utf8_error& e) {
      return static_cast<long>(e.offset());
    }
    return -1;
  };
  CHECK(offset_of("ok") == -1);
  CHECK(offset_of("ab\x80") == 2);                 // stray continuation byte
  CHECK(offset_of("a\xC3") == 1);                  // truncated
  CHECK(offset_of("xy\xC0\xAF") == 2);             // overlong '/'
  CHECK(offset_of("\xED\xA0\x80") == 0);           // surrogate U+D800
  CHECK(offset_of("abc\xF4\x90\x80\x80") == 3);    // above U+10FFFF
  CHECK(offset_of("\xE2\x28\xA1") == 0);           // bad continuation
  CHECK(offset_of("\xFF") == 0);
  try {
    utf8_validate("abcd\xFE");
    FAIL("no throw");
  } catch (const utf8_error& e) {
    CHECK(std::string(e.what()).find("byte offset 4") != std::string::npos);
  }
  CHECK_THROWS_AS(utf8_encode(std::u32string(1, char32_t{0xD800})), vtrans::usage_error);
}

TEST_CASE("categories used by BERT and GPT-2") {
  CHECK(is_letter(U'a'));
  CHECK(is_letter(0x00E9));
  CHECK(is_letter(0x65E5));   // 日
  CHECK(is_letter(0xD55C));   // 한
  CHECK_FALSE(is_letter(0x0301));  // combining acute is Mn
  CHECK(is_number(U'7'));
  CHECK(is_number(0x00BD));   // ½ (No)
  CHECK(is_number(0x0663));   // Arabic-Indic three
  CHECK(is_number(0x216B));   // Roman numeral twelve (Nl)
  CHECK_FALSE(is_number(U'x'));
  CHECK(is_white_space(0x00A0));
  CHECK(is_white_space(0x3000));
  CHECK_FALSE(is_white_space(0x200B));  // zero width space is Cf, not White_Space
  CHECK(is_bert_whitespace(U'\t'));
  CHECK(is_bert_whitespace(0x2003));
  CHECK_FALSE(is_bert_whitespace(0x2028));  // Zl
  CHECK(is_bert_control(0x0007));
  CHECK(is_bert_control(0x200B));  // Cf
  CHECK(is_bert_control(0xE000));  // Co
  CHECK_FALSE(is_bert_control(U'\n'));
  CHECK(is_bert_punctuation(U'$'));   // ASCII symbol counts as punctuation
  CHECK(is_bert_punctuation(U'`'));
  CHECK(is_bert_punctuation(0x201C));  // “
  CHECK(is_bert_punctuation(0x2014));  // —
  CHECK_FALSE(is_bert_punctuation(0x20AC));  // € is Sc, not ASCII
  CHECK(is_cjk_ideograph(0x4E2D));
  CHECK_FALSE(is_cjk_ideograph(0x3042));  // hiragana
  CHECK(is_nonspacing_mark(0x0301));
}

TEST_CASE("lower-casing and accent stripping") {
  CHECK(to_lower(U"ABC\u00C9\u0130\u0391") == std::u32string(U"abc\u00E9i\u0307\u03B1"));
  CHECK(to_lower(U"\u039F\u0394\u03A5\u03A3\u03A3\u0395\u03A5\u03A3") == std::u32string(U"\u03BF\u03B4\u03C5\u03C3\u03C3\u03B5\u03C5\u03C2"));
  CHECK(to_lower(U"\u03A3") == std::u32string(U"\u03C3"));  // lone capital sigma is not final
  CHECK(simple_lower(0x0410) == 0x0430);  // Cyrillic А
  CHECK(simple_lower(0x0100) == 0x0101);  // stride-2 run
  CHECK(simple_lower(0x0101) == 0x0101);
  CHECK(simple_lower(0x10400) == 0x10428);  // Deseret
  CHECK(strip_accents(U"caf\u00E9 na\u00EFve \u00C5ngstr\u00F6m") == std::u32string(U"cafe naive Angstrom"));
  CHECK(strip_accents(U"e\u0301") == std::u32string(U"e"));
  CHECK(strip_accents(U"\u1E69") == std::u32string(U"s"));  // s with dot below and dot above
  CHECK(strip_accents(U"\uD55C") == std::u32string(U"\u1112\u1161\u11AB"));  // 한 -> jamo
  CHECK(strip_accents(U"\uF900") == std::u32string(U"\u8C48"));  // CJK compatibility ideograph
  CHECK(strip_accents(U"\u00DF") == std::u32string(U"\u00DF"));  // ß has no decomposition
}
