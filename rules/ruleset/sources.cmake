# Rule files: YAML reading with diagnostics, the variables expressions see,
# and compiling a directory into a rule set.
set(SP_RULESET_SRCS
  ${CMAKE_CURRENT_LIST_DIR}/bindings.cc
  ${CMAKE_CURRENT_LIST_DIR}/rule_file.cc
  ${CMAKE_CURRENT_LIST_DIR}/ruleset.cc
)
