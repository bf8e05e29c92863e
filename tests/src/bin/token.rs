//! Prints an HS256 token for the local API:
//! `token SECRET SUB [TENANT] [--operator] [--hours N]` (valid 12 hours unless told).

fn main() {
    let mut operator = false;
    let mut hours: i64 = 12;
    let mut plain = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--operator" => operator = true,
            "--hours" => match args.next().and_then(|h| h.parse().ok()) {
                Some(h) if h > 0 => hours = h,
                _ => usage(),
            },
            flag if flag.starts_with("--") => usage(),
            _ => plain.push(arg),
        }
    }
    let (Some(secret), Some(sub)) = (plain.first(), plain.get(1)) else {
        usage()
    };
    let tenant = plain.get(2).map(|s| s.as_str());
    let scope = operator.then_some("licensing/operator");
    println!(
        "{}",
        licensing_tests::token(secret, sub, tenant, scope, hours * 3600)
    );
}

fn usage() -> ! {
    eprintln!("usage: token SECRET SUB [TENANT] [--operator] [--hours N]");
    std::process::exit(2);
}
