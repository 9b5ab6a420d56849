# Thrust for vtrans' thrust_backend<System> (include/vtrans/tensor/thrust_backend.hpp) and the
# target vtrans::thrust_omp: the OpenMP system compiled by the host C++ compiler (g++), GEMM
# through OpenBLAS. Link it to a host translation unit that uses thrust_backend<thrust_omp>:
#   target_link_libraries(app PRIVATE vtrans::thrust_omp)
# Used by vtrans' build and, once installed, by vtransConfig.cmake.
#
# Which thrust: CUDA's CCCL copy (<cuda>/include/cccl, thrust 3.x, C++17) when a CUDA toolkit is
# present, so host and CUDA builds use the same headers; otherwise Debian's libthrust-dev
# (/usr/include/thrust, 1.17). Pinned by path: a plain find_package(Thrust) would pick whichever
# thrust is first on the PATH. Override with -DVTRANS_THRUST_INCLUDE_DIR=<dir holding thrust/>.
if(NOT TARGET vtrans::thrust_omp)
  set(_vtrans_cccl_hints)
  foreach(_root IN ITEMS "${CUDAToolkit_ROOT}" "$ENV{CUDAToolkit_ROOT}" "$ENV{CUDA_HOME}" "$ENV{CUDA_PATH}" /usr/local/cuda)
    if(_root)
      list(APPEND _vtrans_cccl_hints "${_root}/include/cccl")
    endif()
  endforeach()
  find_path(VTRANS_THRUST_INCLUDE_DIR thrust/version.h PATHS ${_vtrans_cccl_hints} NO_DEFAULT_PATH)
  find_path(VTRANS_THRUST_INCLUDE_DIR thrust/version.h)
  unset(_vtrans_cccl_hints)

  if(VTRANS_THRUST_INCLUDE_DIR)
    file(STRINGS "${VTRANS_THRUST_INCLUDE_DIR}/thrust/version.h" _vtrans_thrust_line REGEX "#define THRUST_VERSION [0-9]+")
    string(REGEX MATCH "THRUST_VERSION [0-9]+" _vtrans_thrust_line "${_vtrans_thrust_line}")
    string(REGEX MATCH "[0-9]+$" VTRANS_THRUST_VERSION "${_vtrans_thrust_line}")
    unset(_vtrans_thrust_line)
    find_package(OpenMP QUIET)
    add_library(vtrans::thrust_omp INTERFACE IMPORTED)
    # /usr/include is already searched; naming it again as a system directory breaks #include_next.
    if(NOT VTRANS_THRUST_INCLUDE_DIR STREQUAL "/usr/include")
      set_property(TARGET vtrans::thrust_omp PROPERTY INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${VTRANS_THRUST_INCLUDE_DIR}")
      set_property(TARGET vtrans::thrust_omp PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${VTRANS_THRUST_INCLUDE_DIR}")
    endif()
    set_property(TARGET vtrans::thrust_omp PROPERTY INTERFACE_COMPILE_DEFINITIONS THRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_OMP)
    set_property(TARGET vtrans::thrust_omp PROPERTY INTERFACE_LINK_LIBRARIES vtrans::vtrans OpenMP::OpenMP_CXX)
    set(VTRANS_THRUST_FOUND TRUE)
    if(VTRANS_TOP_LEVEL AND NOT VTRANS_QUIET)
      message(STATUS "vtrans: thrust ${VTRANS_THRUST_VERSION} from ${VTRANS_THRUST_INCLUDE_DIR} (vtrans::thrust_omp)")
    endif()
  else()
    set(VTRANS_THRUST_FOUND FALSE)
    if(NOT VTRANS_QUIET)
      message(STATUS "vtrans: thrust not found (Debian: apt-get install libthrust-dev); vtrans::thrust_omp not defined")
    endif()
  endif()
endif()
