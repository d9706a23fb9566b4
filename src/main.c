/*
 * main.c - the steward program: the command line and, with `steward
 * serve`, the HTTP server. Everything it does goes through libsteward.
 */
#include "cli/cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
