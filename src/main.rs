//! The `longwriter` binary: parse arguments, run the library, map errors to exit codes.

use longwriter::cli::{self, Cli, EXIT_USAGE};

fn main() {
    let cli = match Cli::parse_args(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    // Before any other thread exists: the engine's thread count lives in the environment.
    longwriter::engine::threads::set_candle_threads(cli.backend.threads);
    let filter = tracing_subscriber::EnvFilter::try_from_env("LONGWRITER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("longwriter: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(cli::run(cli)).unwrap_or_else(|e| {
        eprintln!("longwriter: {e}");
        e.exit_code()
    });
    std::process::exit(code);
}
