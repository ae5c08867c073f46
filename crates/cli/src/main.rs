//! The `sightline` command line: one program for metrics (and, as they land, logs,
//! traces and alerting).
//!
//! Subcommands map to what operators do: run the server, check a configuration
//! before deploying it, backfill historical data, print the version.

mod import;
mod logging;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: ingest decodes many small label strings per request, and a
/// thread-caching allocator makes those allocations markedly cheaper than glibc's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Sightline: metrics, logs, traces and alerting in one binary, speaking the
/// protocols of Prometheus, Alertmanager, Elasticsearch, OpenTelemetry and Jaeger.
#[derive(Parser, Debug)]
#[command(
    name = "sightline",
    version,
    about = "Sightline: metrics, logs, traces and alerting in one binary, speaking the protocols of Prometheus, Alertmanager and OpenTelemetry.",
    after_help = "Examples:\n  sightline serve                           monitor this machine and Sightline itself on :9090\n  sightline serve --config sightline.yml    run with your configuration (prometheus.yml can be imported)\n  sightline serve --demo                    add simulated microservices to look at\n  sightline check config sightline.yml      validate before deploying (file:line:column errors)\n  sightline check rules rules/*.yml         validate Prometheus rule files\n  sightline slo rules sightline.yml         print the generated SLO rules for plain Prometheus",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server: scraping, remote_write and OTLP ingest, the TSDB and the HTTP API.
    ///
    /// With no --config, Sightline monitors the machine it runs on (a built-in
    /// node_exporter-compatible collector) and itself, on the default ports:
    /// 9090 (Prometheus API, remote_write, /metrics), 4317 (OTLP gRPC), 4318 (OTLP HTTP).
    Serve(ServeArgs),
    /// Validate configuration files without starting anything.
    Check {
        #[command(subcommand)]
        what: CheckCommand,
    },
    /// Import historical data into the data directory (backfill).
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Service level objectives.
    Slo {
        #[command(subcommand)]
        what: SloCommand,
    },
    /// Print version information.
    Version,
}

#[derive(Subcommand, Debug)]
enum SloCommand {
    /// Print the recording rules and multi-window multi-burn-rate alerts generated for
    /// the SLOs of FILE (a sightline.yml, or a file with only `slos:`) as a Prometheus
    /// rule file, for teams that evaluate them in plain Prometheus.
    Rules {
        /// The file holding the `slos:` section.
        file: PathBuf,
    },
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Configuration file (sightline.yml). Without it, the built-in defaults apply.
    #[arg(long, short = 'c', env = "SIGHTLINE_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory; overrides storage.path from the configuration.
    #[arg(long, env = "SIGHTLINE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Address of the Prometheus-compatible HTTP listener; overrides server.listen_address.
    #[arg(long)]
    listen_address: Option<String>,
    /// Also run the built-in demo workload: simulated microservices, scraped like real ones.
    #[arg(long)]
    demo: bool,
    /// Log level or filter directive (overrides log.level), e.g. info, debug, sightline_tsdb=debug.
    #[arg(long, env = "SIGHTLINE_LOG_LEVEL")]
    log_level: Option<String>,
    /// Log format: logfmt or json (overrides log.format).
    #[arg(long)]
    log_format: Option<String>,
}

#[derive(Subcommand, Debug)]
enum CheckCommand {
    /// Check a sightline.yml (or a prometheus.yml): syntax, unknown keys, types and
    /// cross-field rules. Errors name the file, line, column and key path.
    Config {
        /// The files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Check Prometheus rule files like `promtool check rules`: YAML, expressions,
    /// names, templates. Errors name the file, line and column.
    Rules {
        /// The rule files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum ImportCommand {
    /// Backfill an OpenMetrics text file (with timestamps) into blocks, like
    /// `promtool tsdb create-blocks-from openmetrics`. Start the server afterwards (or
    /// send it SIGHUP) to query the data.
    Openmetrics {
        /// The OpenMetrics file to read (`-` for standard input).
        file: PathBuf,
        /// Data directory to write blocks into.
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => {
            println!("sightline {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Check {
            what: CheckCommand::Config { files },
        } => check_config(&files),
        Command::Check {
            what: CheckCommand::Rules { files },
        } => check_rules(&files),
        Command::Slo {
            what: SloCommand::Rules { file },
        } => slo_rules(&file),
        Command::Import {
            what: ImportCommand::Openmetrics { file, data_dir },
        } => {
            logging::init("info", "logfmt");
            match import::openmetrics(&file, &data_dir) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("import failed: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve(args) => serve(args),
    }
}

fn check_config(files: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for f in files {
        match sightline_config::load_file(f) {
            Ok(loaded) => {
                for w in &loaded.warnings {
                    println!("  WARNING: {w}");
                }
                println!(
                    "Checking {}\n  SUCCESS: {} scrape configs found",
                    f.display(),
                    loaded.config.scrape_configs.len()
                );
            }
            Err(e) => {
                println!("Checking {}\n  FAILED: {e}", f.display());
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn check_rules(files: &[PathBuf]) -> ExitCode {
    let results = sightline_rules::file::check_files(files);
    let mut failed = false;
    for r in &results {
        print!("{r}");
        failed |= !r.ok();
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn slo_rules(file: &std::path::Path) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    let slos = match sightline_rules::slo::parse_slo_file(&text) {
        Ok(s) => s,
        Err(slo_err) => match sightline_config::load_file(file) {
            Ok(l) => l.config.slos,
            Err(cfg_err) => {
                eprintln!(
                    "error: {}: {slo_err}\n(as a sightline.yml: {cfg_err})",
                    file.display()
                );
                return ExitCode::FAILURE;
            }
        },
    };
    if slos.is_empty() {
        eprintln!("error: {} has no slos", file.display());
        return ExitCode::FAILURE;
    }
    print!("{}", sightline_rules::slo::generate_rule_file(&slos));
    ExitCode::SUCCESS
}

fn serve(args: ServeArgs) -> ExitCode {
    let loaded = match &args.config {
        Some(path) => match sightline_config::load_file(path) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => sightline_config::LoadedConfig::defaults(),
    };
    let level = args
        .log_level
        .clone()
        .unwrap_or_else(|| loaded.config.log.level.clone());
    let format = args.log_format.clone().unwrap_or_else(|| {
        match loaded.config.log.format {
            sightline_config::schema::LogFormat::Json => "json",
            sightline_config::schema::LogFormat::Logfmt => "logfmt",
        }
        .to_string()
    });
    logging::init(&level, &format);
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    let opts = sightline_server::ServeOptions {
        loaded,
        data_dir: args.data_dir,
        listen_address: args.listen_address,
        demo: args.demo,
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sightline")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(sightline_server::run(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("fatal: {e:#}");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
