/* With -DWF_FUZZ_REPLAY, a plain main() that runs a fuzz target over the files named on the command
   line (to replay a corpus or a crash without libFuzzer). Include after LLVMFuzzerTestOneInput. */
#ifdef WF_FUZZ_REPLAY
#include <stdio.h>
int main(int argc, char **argv) {
    static uint8_t buf[1 << 20];
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
    }
    return 0;
}
#endif
