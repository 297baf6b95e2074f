#include "engine/app/cli.h"

int main(int argc, char** argv) { return storepulse::app::runCli(argc, argv); }
