# Fault-injection tests of the reliability suite (docs/reliability.md).
# Included from tests/c/CMakeLists.txt.  They link the static library and
# see csrc/qsem_internal.h for the test hooks (allocator, fork generation).

set(QSEM_RELIABILITY_TESTS
  test_signal_storm     180
  test_close_storm      120
  test_timeout_churn    120
  test_fork_storm       60
  test_alloc_failure    60
)
list(LENGTH QSEM_RELIABILITY_TESTS _n)
math(EXPR _last "${_n} - 1")
foreach(_i RANGE 0 ${_last} 2)
  math(EXPR _j "${_i} + 1")
  list(GET QSEM_RELIABILITY_TESTS ${_i} _name)
  list(GET QSEM_RELIABILITY_TESTS ${_j} _timeout)
  add_executable(${_name} ${CMAKE_CURRENT_LIST_DIR}/${_name}.c ${CMAKE_CURRENT_LIST_DIR}/qsem_test.h)
  target_link_libraries(${_name} PRIVATE qsem::qsem_static Threads::Threads)
  target_include_directories(${_name} PRIVATE ${PROJECT_SOURCE_DIR}/csrc)
  target_compile_options(${_name} PRIVATE -Wall -Wextra)
  target_compile_definitions(${_name} PRIVATE _GNU_SOURCE)
  add_test(NAME ${_name} COMMAND ${_name})
  set_tests_properties(${_name} PROPERTIES TIMEOUT ${_timeout} LABELS "c;reliability")
endforeach()
