# sp_cc_library(NAME name SRCS ... DEPS ...): one static library per module,
# in the style of absl_cc_library. Every target shares one include root (the
# repository), so code includes "engine/state/state_store.h".
function(sp_cc_library)
  cmake_parse_arguments(SP "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(${SP_NAME} STATIC ${SP_SRCS})
  target_include_directories(${SP_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${SP_NAME} PUBLIC ${SP_DEPS})
  target_compile_options(${SP_NAME} PRIVATE ${SP_WARNINGS})
endfunction()

# sp_cc_test(NAME name SRCS ... DEPS ... LABELS ...): a GoogleTest binary
# registered with CTest; LABELS is one of unit, integration, slow.
function(sp_cc_test)
  cmake_parse_arguments(SP "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${SP_NAME} ${SP_SRCS})
  target_link_libraries(${SP_NAME} PRIVATE ${SP_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_options(${SP_NAME} PRIVATE ${SP_WARNINGS})
  gtest_discover_tests(${SP_NAME}
    PROPERTIES LABELS "${SP_LABELS}"
    DISCOVERY_TIMEOUT 60)
endfunction()
