# The CUDA backend: vtrans::cuda = thrust_backend<thrust_cuda> (thrust's CUDA system, cuBLAS and the
# kernels of include/vtrans/tensor/cuda/), for translation units compiled by nvcc (.cu files).
# Host .cpp files keep using vtrans::cpu; keep xtensor and cpu.hpp out of the .cu files.
#
# Downstream projects ask for it as a component, after enabling CUDA themselves:
#   project(app LANGUAGES CXX CUDA)            # or enable_language(CUDA)
#   find_package(vtrans REQUIRED COMPONENTS cuda)
#   add_executable(app main.cu)
#   target_link_libraries(app PRIVATE vtrans::cuda)
# vtrans::cuda carries the vtrans headers, CUDA::cudart (shared: one runtime) and CUDA::cublas.
#
# In vtrans' own build as the top-level project: option VTRANS_CUDA = AUTO (default: on when nvcc
# is found), ON or OFF. It enables the CUDA language only when nvcc is found, pins
# CMAKE_CUDA_ARCHITECTURES (default 90, Hopper; never "native", which needs a GPU at configure
# time) and sets VTRANS_CUDA_ENABLED. As a subproject, vtrans::cuda exists when the parent project
# enabled CUDA itself.

# The vtrans include directory: the source tree's, or the installed one (lib/cmake/vtrans/../../../include).
if(EXISTS "${CMAKE_CURRENT_LIST_DIR}/../include/vtrans/version.hpp")
  get_filename_component(_vtrans_cuda_include "${CMAKE_CURRENT_LIST_DIR}/../include" ABSOLUTE)
else()
  get_filename_component(_vtrans_cuda_include "${CMAKE_CURRENT_LIST_DIR}/../../../include" ABSOLUTE)
endif()

if(VTRANS_TOP_LEVEL AND NOT DEFINED VTRANS_CUDA_ENABLED)
  set(VTRANS_CUDA AUTO CACHE STRING "CUDA backend tests and benchmarks: AUTO (when nvcc is found), ON, OFF")
  set_property(CACHE VTRANS_CUDA PROPERTY STRINGS AUTO ON OFF)
  set(VTRANS_CUDA_ENABLED OFF)
  if(NOT VTRANS_CUDA STREQUAL "OFF")
    include(CheckLanguage)
    check_language(CUDA)
    if(CMAKE_CUDA_COMPILER)
      if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
        set(CMAKE_CUDA_ARCHITECTURES 90 CACHE STRING "CUDA architectures to compile for (explicit; not native)")
      endif()
      set(CMAKE_CUDA_STANDARD 17)
      set(CMAKE_CUDA_STANDARD_REQUIRED ON)
      set(CMAKE_CUDA_EXTENSIONS OFF)
      set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)  # the same libcudart.so as CUDA::cudart: one runtime
      enable_language(CUDA)
      find_package(CUDAToolkit REQUIRED)
      set(VTRANS_CUDA_ENABLED ON)
      message(STATUS "vtrans: CUDA backend on (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES})")
    elseif(VTRANS_CUDA STREQUAL "ON")
      message(FATAL_ERROR "vtrans: VTRANS_CUDA=ON but no CUDA compiler was found (set CUDACXX or put nvcc on PATH)")
    else()
      message(STATUS "vtrans: nvcc not found, CUDA backend off")
    endif()
  endif()
endif()

if(NOT TARGET vtrans::cuda)
  set(VTRANS_CUDA_FOUND FALSE)
  if(CMAKE_CUDA_COMPILER)
    find_package(CUDAToolkit QUIET)
    if(CUDAToolkit_FOUND)
      add_library(vtrans::cuda INTERFACE IMPORTED)
      set_property(TARGET vtrans::cuda PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${_vtrans_cuda_include}")
      set_property(TARGET vtrans::cuda PROPERTY INTERFACE_COMPILE_FEATURES cuda_std_17)
      set_property(TARGET vtrans::cuda PROPERTY INTERFACE_LINK_LIBRARIES CUDA::cudart CUDA::cublas)
      set(VTRANS_CUDA_FOUND TRUE)
    endif()
  endif()
  if(NOT VTRANS_CUDA_FOUND AND NOT VTRANS_QUIET AND "cuda" IN_LIST vtrans_FIND_COMPONENTS)
    message(STATUS "vtrans: component cuda needs the CUDA language enabled first (enable_language(CUDA)) and the CUDA "
                   "toolkit; vtrans::cuda not defined")
  endif()
endif()
unset(_vtrans_cuda_include)
