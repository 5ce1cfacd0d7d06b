fn main() {
    std::process::exit(casulo::cli::main());
}
