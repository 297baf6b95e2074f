# Unit tests of rules/runtime: the golden rule sets (tests/rules/golden/*/
# and the shipped config/rules, one test each, as `storepulse rules test`
# runs them) and C++ tests of the RuleEngine on the ingest pipeline with the
# engine's fakes. Included by tests/rules/CMakeLists.txt.
sp_cc_test(NAME rules_runtime_test
  SRCS
    ${CMAKE_CURRENT_LIST_DIR}/golden_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/rule_engine_test.cc
    ${PROJECT_SOURCE_DIR}/tests/engine/fakes/fake_event_source.cc
  DEPS sp_rules nlohmann_json::nlohmann_json
  LABELS unit)
# The golden tests read tests/rules/golden/ and config/rules/ from the source tree.
target_compile_definitions(rules_runtime_test PRIVATE SP_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
