//! Compiles the small C helper that does INCRBYFLOAT in `long double`.

fn main() {
    println!("cargo:rerun-if-changed=csrc/long_double.c");
    cc::Build::new()
        .file("csrc/long_double.c")
        .warnings(true)
        .compile("replikv_long_double");
}
