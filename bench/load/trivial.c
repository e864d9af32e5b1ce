/* The baseline for bench/load: the smallest useful shared library (one exported function). */
int trivial_value(void) { return 42; }
