# Finds what vtrans needs and defines VTRANS_DEPENDENCY_TARGETS.
# Used by the build and, once installed, by vtransConfig.cmake, so both see the same targets.
include(CMakeFindDependencyMacro)
find_dependency(xtl)
find_dependency(xtensor)
find_dependency(OpenMP)
find_dependency(nlohmann_json)

# OpenBLAS, OpenMP flavour: inside our OpenMP regions it runs single-threaded instead of
# oversubscribing the cores with its own pthread pool.
if(NOT TARGET vtrans_deps::openblas)
  find_path(VTRANS_OPENBLAS_INCLUDE_DIR cblas.h
    PATHS /usr/include/x86_64-linux-gnu/openblas-openmp /usr/include/aarch64-linux-gnu/openblas-openmp
          /usr/include/openblas NO_DEFAULT_PATH)
  find_path(VTRANS_OPENBLAS_INCLUDE_DIR cblas.h)
  find_library(VTRANS_OPENBLAS_LIBRARY openblas
    PATHS /usr/lib/x86_64-linux-gnu/openblas-openmp /usr/lib/aarch64-linux-gnu/openblas-openmp NO_DEFAULT_PATH)
  find_library(VTRANS_OPENBLAS_LIBRARY openblas)
  if(NOT VTRANS_OPENBLAS_INCLUDE_DIR OR NOT VTRANS_OPENBLAS_LIBRARY)
    message(FATAL_ERROR "vtrans: OpenBLAS not found (Debian: apt-get install libopenblas-openmp-dev)")
  endif()
  add_library(vtrans_deps::openblas INTERFACE IMPORTED)
  set_target_properties(vtrans_deps::openblas PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${VTRANS_OPENBLAS_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${VTRANS_OPENBLAS_LIBRARY}")
endif()

# SentencePiece (LLaMA tokenizers), from Debian's libsentencepiece-dev.
if(NOT TARGET vtrans_deps::sentencepiece)
  find_path(VTRANS_SENTENCEPIECE_INCLUDE_DIR sentencepiece_processor.h)
  find_library(VTRANS_SENTENCEPIECE_LIBRARY sentencepiece)
  if(NOT VTRANS_SENTENCEPIECE_INCLUDE_DIR OR NOT VTRANS_SENTENCEPIECE_LIBRARY)
    message(FATAL_ERROR "vtrans: SentencePiece not found (Debian: apt-get install libsentencepiece-dev)")
  endif()
  add_library(vtrans_deps::sentencepiece INTERFACE IMPORTED)
  set_target_properties(vtrans_deps::sentencepiece PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${VTRANS_SENTENCEPIECE_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${VTRANS_SENTENCEPIECE_LIBRARY}")
endif()

set(VTRANS_DEPENDENCY_TARGETS xtensor OpenMP::OpenMP_CXX nlohmann_json::nlohmann_json
    vtrans_deps::openblas vtrans_deps::sentencepiece)
