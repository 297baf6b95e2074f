#include <iostream>

#include "engine/app/commands.h"
#include "rules/cel/expr_eval.h"

namespace storepulse::app {

// Always exit 0: the printed line says whether evaluation failed (SPEC.md
// "Interfaces"), so scripts read one format for every outcome.
int evalExpression(const ExprEvalArgs& args) {
  std::cout << cel::evalToJsonLine(args.expression, args.vars_json) << "\n";
  return kExitOk;
}

}  // namespace storepulse::app
