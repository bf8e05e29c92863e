//! Operators apart (issue #31): the operator routes have an authorizer of their own, whose
//! issuer and audience are parameters, and a prod deploy cannot go out with example values.

use serde_yaml::Value;

const TEMPLATE: &str = include_str!("../../infra/template.yaml");
const SAMCONFIG: &str = include_str!("../../samconfig.toml");

fn template() -> Value {
    serde_yaml::from_str(TEMPLATE).unwrap()
}

fn referenced(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str(),
        _ => None,
    }
}

#[test]
fn operator_routes_and_only_they_use_the_operator_authorizer() {
    let template = template();
    let authorizers = &template["Resources"]["Api"]["Properties"]["Auth"]["Authorizers"];
    let operator = &authorizers["Operator"]["JwtConfiguration"];
    assert_eq!(referenced(&operator["issuer"]), Some("OperatorIssuer"));
    assert_eq!(referenced(&operator["audience"]), Some("OperatorAudience"));
    let customer = &authorizers["Jwt"]["JwtConfiguration"];
    assert_eq!(referenced(&customer["issuer"]), Some("JwtIssuer"));
    let mut operator_routes = 0;
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        for (_, event) in resource["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            let Some(path) = event["Properties"]["Path"].as_str() else {
                continue;
            };
            let authorizer = event["Properties"]["Auth"]["Authorizer"].as_str();
            if path.starts_with("/v1/tenants") {
                operator_routes += 1;
                assert_eq!(authorizer, Some("Operator"), "{path}");
            } else {
                assert_ne!(authorizer, Some("Operator"), "{path}");
            }
        }
    }
    assert_eq!(operator_routes, 4);
}

#[test]
fn a_prod_deploy_needs_real_values_for_everything_that_names_the_outside_world() {
    let template = template();
    let parameters = &template["Parameters"];
    let naming_the_world = [
        "JwtIssuer",
        "JwtAudience",
        "OperatorIssuer",
        "OperatorAudience",
        "MailFrom",
        "SupportEmail",
        "AllowedOrigin",
        "WebAuthorizationEndpoint",
        "WebTokenEndpoint",
    ];
    for name in naming_the_world {
        assert!(
            parameters[name].get("Default").is_none(),
            "{name} has a default"
        );
    }
    // The prod profile brings none of them: each comes with the deploy.
    let samconfig: toml::Value = toml::from_str(SAMCONFIG).unwrap();
    let prod = samconfig["prod"]["deploy"]["parameters"]["parameter_overrides"]
        .as_str()
        .unwrap();
    assert!(!prod.contains("example"), "{prod}");
    // The dev profile's example values are refused for prod, one assertion each.
    let dev = samconfig["default"]["deploy"]["parameters"]["parameter_overrides"]
        .as_str()
        .unwrap();
    let rule = &template["Rules"]["ProdHasRealValues"];
    let refused = format!("{:?}", rule["Assertions"]);
    for pair in dev.split_whitespace() {
        let (name, value) = pair.split_once('=').unwrap();
        if value.contains("example") && !name.ends_with("Audience") {
            assert!(
                refused.contains(value),
                "{name}={value} is not refused in prod"
            );
        }
    }
}
