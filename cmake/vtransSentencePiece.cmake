# vtrans::sentencepiece: vtrans with the SentencePiece tokenizer (text/sentencepiece.hpp, LLaMA-1/2
# tokenizer.model files): vtrans::vtrans plus libsentencepiece and the definition
# VTRANS_WITH_SENTENCEPIECE, which text/tokenizer.hpp reads. Link it instead of vtrans::vtrans where
# tokenizer.model files must load:
#   target_link_libraries(app PRIVATE vtrans::sentencepiece)
# Defined only when SentencePiece is found (cmake/FindSentencePiece.cmake; hide it with
# -DCMAKE_DISABLE_FIND_PACKAGE_SentencePiece=ON); otherwise vtrans works without it and
# load_tokenizer says so for a tokenizer.model. Sets VTRANS_SENTENCEPIECE_FOUND.
# Used by vtrans' build and, once installed, by vtransConfig.cmake.
if(NOT TARGET vtrans::sentencepiece)
  set(_vtrans_module_path "${CMAKE_MODULE_PATH}")
  set(CMAKE_MODULE_PATH "${CMAKE_CURRENT_LIST_DIR}" ${CMAKE_MODULE_PATH})
  find_package(SentencePiece QUIET MODULE)
  set(CMAKE_MODULE_PATH "${_vtrans_module_path}")
  unset(_vtrans_module_path)
  if(SentencePiece_FOUND)
    add_library(vtrans::sentencepiece INTERFACE IMPORTED)
    set_property(TARGET vtrans::sentencepiece PROPERTY INTERFACE_LINK_LIBRARIES vtrans::vtrans SentencePiece::SentencePiece)
    set_property(TARGET vtrans::sentencepiece PROPERTY INTERFACE_COMPILE_DEFINITIONS VTRANS_WITH_SENTENCEPIECE)
    set(VTRANS_SENTENCEPIECE_FOUND TRUE)
  else()
    set(VTRANS_SENTENCEPIECE_FOUND FALSE)
    if(NOT VTRANS_QUIET)
      message(STATUS "vtrans: SentencePiece not found (Debian: apt-get install libsentencepiece-dev); "
                     "vtrans::sentencepiece not defined, tokenizer.model files unsupported")
    endif()
  endif()
endif()
