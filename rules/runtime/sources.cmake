# The rule engine: aggregates, rule evaluation and actions on the pipeline.
set(SP_RULES_RUNTIME_SRCS
  ${CMAKE_CURRENT_LIST_DIR}/replay.cc
  ${CMAKE_CURRENT_LIST_DIR}/rule_engine.cc
  ${CMAKE_CURRENT_LIST_DIR}/rule_tests.cc
)
