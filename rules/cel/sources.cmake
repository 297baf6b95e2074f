# The CEL expression language: lexer, parser, checker, interpreter, standard
# library, JSON forms, and the `expr eval` entry point. See rules/README.md.
set(SP_CEL_SRCS
  ${CMAKE_CURRENT_LIST_DIR}/checker.cc
  ${CMAKE_CURRENT_LIST_DIR}/env.cc
  ${CMAKE_CURRENT_LIST_DIR}/expr_eval.cc
  ${CMAKE_CURRENT_LIST_DIR}/interpreter.cc
  ${CMAKE_CURRENT_LIST_DIR}/json.cc
  ${CMAKE_CURRENT_LIST_DIR}/lexer.cc
  ${CMAKE_CURRENT_LIST_DIR}/parser.cc
  ${CMAKE_CURRENT_LIST_DIR}/program.cc
  ${CMAKE_CURRENT_LIST_DIR}/standard_library.cc
  ${CMAKE_CURRENT_LIST_DIR}/time_values.cc
  ${CMAKE_CURRENT_LIST_DIR}/type.cc
  ${CMAKE_CURRENT_LIST_DIR}/value.cc
)
