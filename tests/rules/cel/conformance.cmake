# The CEL conformance table (conformance/*.yaml, one file per section like
# google/cel-spec's tests/simple/testdata), run through evalToJsonLine.
# Included by tests/rules/CMakeLists.txt.
sp_cc_test(NAME cel_conformance_test
  SRCS ${CMAKE_CURRENT_LIST_DIR}/conformance_test.cc
  DEPS sp_rules yaml-cpp nlohmann_json::nlohmann_json
  LABELS unit)
target_compile_definitions(cel_conformance_test PRIVATE
  SP_CEL_CONFORMANCE_DIR="${PROJECT_SOURCE_DIR}/tests/rules/cel/conformance")

# gtest_discover_tests lists the cases when the binary is linked; relink when
# a YAML file changes (or one is added) so that CTest knows every case.
file(GLOB sp_cel_conformance_yaml CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/tests/rules/cel/conformance/*.yaml)
set_property(TARGET cel_conformance_test APPEND PROPERTY LINK_DEPENDS ${sp_cel_conformance_yaml})
