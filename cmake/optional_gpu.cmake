# NCCL gradient sync is optional. SIMBI_HAVE_NCCL is ON only when BOTH are found at configure time:
#   - NCCL: nccl.h + libnccl (NCCL_HOME/NCCL_ROOT, the CUDA toolkit's directories, or the system's)
#   - the CUDA runtime: cuda_runtime_api.h + libcudart (find_package(CUDAToolkit): nvcc on PATH,
#     CUDAToolkit_ROOT, CUDA_PATH, or /usr/local/cuda)
# Then src/train/grad_sync_nccl.cpp is compiled with SIMBI_HAVE_NCCL=1 and simbi_train links
# SIMBI::nccl (nccl + cudart). Otherwise the same API exists and refuses --backend nccl with a one-line
# error. Nothing here asks whether LibTorch itself was built with CUDA: that is a runtime question
# (torch::cuda::is_available()), and the Debian LibTorch is CPU-only. See docs/gpu.md.
set(SIMBI_HAVE_NCCL OFF)
set(_simbi_nccl_why "-DSIMBI_WITH_NCCL=OFF")
if(SIMBI_WITH_NCCL)
  find_package(CUDAToolkit QUIET)
  set(_simbi_cuda_hints)
  if(CUDAToolkit_FOUND)
    set(_simbi_cuda_hints ${CUDAToolkit_INCLUDE_DIRS} ${CUDAToolkit_LIBRARY_DIR})
  endif()
  find_path(NCCL_INCLUDE_DIR nccl.h
    HINTS $ENV{NCCL_HOME} $ENV{NCCL_ROOT} ${_simbi_cuda_hints} PATH_SUFFIXES include)
  find_library(NCCL_LIBRARY nccl
    HINTS $ENV{NCCL_HOME} $ENV{NCCL_ROOT} ${_simbi_cuda_hints} PATH_SUFFIXES lib64 lib)
  if(NOT CUDAToolkit_FOUND OR NOT TARGET CUDA::cudart)
    set(_simbi_nccl_why "not found: CUDA runtime (cuda_runtime_api.h + libcudart)")
  elseif(NOT NCCL_INCLUDE_DIR OR NOT NCCL_LIBRARY)
    set(_simbi_nccl_why "not found: NCCL (nccl.h + libnccl; set NCCL_HOME)")
  else()
    set(SIMBI_HAVE_NCCL ON)
    set(_simbi_nccl_why "${NCCL_LIBRARY}, CUDA runtime ${CUDAToolkit_VERSION}")
    add_library(SIMBI::nccl UNKNOWN IMPORTED)
    set_target_properties(SIMBI::nccl PROPERTIES
      IMPORTED_LOCATION "${NCCL_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${NCCL_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES CUDA::cudart)
  endif()
endif()
message(STATUS "simbi: NCCL gradient sync: ${SIMBI_HAVE_NCCL} (${_simbi_nccl_why})")
