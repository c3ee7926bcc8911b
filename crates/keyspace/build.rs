//! Compiles the small C helpers: INCRBYFLOAT in `long double`, and the C
//! library's `strtod` for Redis-exact float parsing.

fn main() {
    println!("cargo:rerun-if-changed=csrc/long_double.c");
    println!("cargo:rerun-if-changed=csrc/strtod.c");
    cc::Build::new()
        .file("csrc/long_double.c")
        .file("csrc/strtod.c")
        .warnings(true)
        .compile("replikv_long_double");
}
