# Finds what the core of vtrans (target vtrans::vtrans) needs: xtensor, OpenMP, nlohmann_json and
# OpenBLAS (its OpenMP flavour where there is a choice: inside vtrans' OpenMP regions it then runs
# single-threaded instead of oversubscribing the cores with its own thread pool).
#
# It never stops a configure. Results:
#   VTRANS_DEPENDENCIES_FOUND     TRUE when everything was found
#   VTRANS_DEPENDENCIES_MISSING   otherwise a message naming what is missing and how to get it
#   VTRANS_DEPENDENCY_TARGETS     the targets vtrans::vtrans links
# vtrans' own build stops with the message; an installed vtransConfig.cmake reports vtrans as not
# found with it. OpenBLAS is found through its own CMake package (OpenBLASConfig.cmake) when there
# is one, else as cblas.h + libopenblas (an openblas-openmp subdirectory first); override with
# -DVTRANS_OPENBLAS_INCLUDE_DIR=... -DVTRANS_OPENBLAS_LIBRARY=...
set(_vtrans_missing)
foreach(_pkg xtl xtensor nlohmann_json)
  if(NOT ${_pkg}_FOUND)
    find_package(${_pkg} QUIET)
  endif()
  if(NOT ${_pkg}_FOUND)
    list(APPEND _vtrans_missing "${_pkg}")
  endif()
endforeach()
if(NOT TARGET OpenMP::OpenMP_CXX)
  find_package(OpenMP QUIET COMPONENTS CXX)
endif()
if(NOT TARGET OpenMP::OpenMP_CXX)
  list(APPEND _vtrans_missing "OpenMP for C++")
endif()

if(NOT TARGET vtrans_deps::openblas)
  find_package(OpenBLAS CONFIG QUIET)
  set(_vtrans_blas_hints)
  if(OpenBLAS_FOUND)
    list(GET OpenBLAS_LIBRARIES 0 _vtrans_blas_lib)
    get_filename_component(_vtrans_blas_lib "${_vtrans_blas_lib}" DIRECTORY)
    set(_vtrans_blas_hints "${OpenBLAS_INCLUDE_DIRS}" "${_vtrans_blas_lib}")
  endif()
  # openblas_config.h sits next to OpenBLAS' own cblas.h (not next to other BLASes' cblas.h)
  find_path(VTRANS_OPENBLAS_INCLUDE_DIR NAMES cblas.h openblas_config.h HINTS ${_vtrans_blas_hints}
            PATH_SUFFIXES openblas-openmp openblas)
  find_library(VTRANS_OPENBLAS_LIBRARY openblas HINTS ${_vtrans_blas_hints} PATH_SUFFIXES openblas-openmp)
  if(VTRANS_OPENBLAS_INCLUDE_DIR AND VTRANS_OPENBLAS_LIBRARY AND EXISTS "${VTRANS_OPENBLAS_INCLUDE_DIR}/openblas_config.h")
    add_library(vtrans_deps::openblas INTERFACE IMPORTED)
    set_target_properties(vtrans_deps::openblas PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${VTRANS_OPENBLAS_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES "${VTRANS_OPENBLAS_LIBRARY}")
  endif()
  unset(_vtrans_blas_hints)
  unset(_vtrans_blas_lib)
endif()
if(NOT TARGET vtrans_deps::openblas)
  list(APPEND _vtrans_missing "OpenBLAS")
endif()

if(_vtrans_missing)
  set(VTRANS_DEPENDENCIES_FOUND FALSE)
  string(REPLACE ";" ", " _vtrans_missing "${_vtrans_missing}")
  string(CONCAT VTRANS_DEPENDENCIES_MISSING "vtrans needs ${_vtrans_missing} (Debian: apt-get install xtensor-dev "
         "nlohmann-json3-dev libopenblas-openmp-dev, and a compiler with OpenMP)")
  set(VTRANS_DEPENDENCY_TARGETS)
else()
  set(VTRANS_DEPENDENCIES_FOUND TRUE)
  set(VTRANS_DEPENDENCIES_MISSING "")
  set(VTRANS_DEPENDENCY_TARGETS xtensor OpenMP::OpenMP_CXX nlohmann_json::nlohmann_json vtrans_deps::openblas)
endif()
unset(_vtrans_missing)
