# Unit tests of rules/ruleset: the rule file reader on good input, the
# corpus of broken rule files (bad/, each stating its expected diagnostics)
# and the JSON Schema kept in step with the parser. Included by
# tests/rules/CMakeLists.txt.
sp_cc_test(NAME ruleset_test
  SRCS
    ${CMAKE_CURRENT_LIST_DIR}/rule_file_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/bad_rules_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/schema_test.cc
  DEPS sp_rules nlohmann_json::nlohmann_json
  LABELS unit)
# SP_BAD_RULES_WITH_CEL: 1 once ruleset.cc compiles every expression with the
# CEL checker; bad/cel/ then joins the corpus. SP_BAD_RULES_WITH_PENDING: 1 to
# run bad/pending/, the mistakes the loader does not report right yet.
target_compile_definitions(ruleset_test PRIVATE
  SP_RULES_TESTDATA="${PROJECT_SOURCE_DIR}/tests/rules/ruleset"
  SP_RULES_SCHEMA="${PROJECT_SOURCE_DIR}/rules/schema/storepulse-rules.schema.json"
  SP_BAD_RULES_WITH_CEL=1
  SP_BAD_RULES_WITH_PENDING=0)
