//! Prints an HS256 token for the local API: `token SECRET SUB [TENANT] [--operator]`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let operator = args.iter().any(|a| a == "--operator");
    let plain: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let (Some(secret), Some(sub)) = (plain.first(), plain.get(1)) else {
        eprintln!("usage: token SECRET SUB [TENANT] [--operator]");
        std::process::exit(2);
    };
    let tenant = plain.get(2).map(|s| s.as_str());
    let scope = operator.then_some("licensing/operator");
    println!(
        "{}",
        licensing_tests::token(secret, sub, tenant, scope, 12 * 3600)
    );
}
