"""fuzz_target: one fuzz target = a binary `<name>_fuzzer` and a test `<name>_corpus_test` replaying its corpus."""

def fuzz_target(name, deps):
    native.cc_binary(
        name = name + "_fuzzer",
        srcs = [name + "_fuzzer.cc"],
        deps = deps + select({
            ":libfuzzer": [],
            "//conditions:default": [":corpus_main"],
        }),
        linkopts = select({
            ":libfuzzer": ["-fsanitize=fuzzer,address,undefined"],
            "//conditions:default": [],
        }),
    )
    native.sh_test(
        name = name + "_corpus_test",
        size = "small",
        srcs = ["run_corpus.sh"],
        args = ["$(location :%s_fuzzer)" % name, "testdata/fuzz/" + name],
        data = [":" + name + "_fuzzer", "//testdata:fuzz_corpus"],
    )
