//! A single create's subscription change as a conditional counter update (`CounterDelta`):
//! the counts it adds, and the conditions its answer rests on instead of the version.

use aws_sdk_dynamodb::types::{AttributeValue, Update};
use std::collections::BTreeMap;

use crate::adapters::dynamodb::keys::SUB_SK;
use crate::adapters::dynamodb::{DynamoStore, built, key, s, to_value};
use crate::ports::StoreError;

impl DynamoStore {
    /// The subscription's update for a counter delta: the counts added, the version moved on
    /// (so a change under the version still sees it), and every condition the command's
    /// outcome rests on. A failed condition reads as a conflict: the command runs again on a
    /// fresh read, where a seat it found licensed may now be over-allocated.
    pub(super) fn delta_update(
        &self,
        pk: &str,
        delta: &crate::ports::CounterDelta,
    ) -> Result<Update, StoreError> {
        let mut names: Vec<(String, String)> = [
            ("#v", "version"),
            ("#s", "sub"),
            ("#users", "users"),
            ("#la", "licensed_adds"),
            ("#pools", "pools"),
            ("#in_use", "in_use"),
            ("#purchased", "purchased"),
            ("#id", "id"),
            ("#abr", "active_by_role"),
            ("#roles", "roles"),
            ("#term", "terminated_at"),
            ("#period", "period"),
            ("#start", "start"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let room = crate::domain::user::MAX_USERS.saturating_sub(delta.users);
        let mut values: Vec<(String, AttributeValue)> = vec![
            (":one".into(), AttributeValue::N("1".into())),
            (":zero".into(), AttributeValue::N("0".into())),
            (":users".into(), AttributeValue::N(delta.users.to_string())),
            (":room".into(), AttributeValue::N(room.to_string())),
            (":null".into(), s("NULL")),
            (":start".into(), to_value(&delta.period_start)?),
        ];
        let mut sets = vec![
            "#v = #v + :one".to_owned(),
            "#s.#users = #s.#users + :users".to_owned(),
        ];
        let mut conditions = vec![
            "attribute_exists(pk)".to_owned(),
            "#s.#users <= :room".to_owned(),
            "attribute_type(#s.#term, :null)".to_owned(),
            "#s.#period.#start = :start".to_owned(),
        ];
        for claim in &delta.seats {
            let i = claim.index;
            let path = format!("#s.#pools[{i}]");
            sets.push(format!("{path}.#in_use = {path}.#in_use + :one"));
            conditions.push(format!("{path}.#id = :pool{i}"));
            values.push((format!(":pool{i}"), s(claim.pool.to_string())));
            if claim.licensed {
                conditions.push(format!("{path}.#in_use < {path}.#purchased"));
                sets.push(format!(
                    "{path}.#la = if_not_exists({path}.#la, :zero) + :one"
                ));
            } else {
                conditions.push(format!("{path}.#in_use >= {path}.#purchased"));
                conditions.push(format!(
                    "(attribute_not_exists({path}.#la) OR {path}.#la = :la{i})"
                ));
                values.push((
                    format!(":la{i}"),
                    AttributeValue::N(claim.licensed_adds.to_string()),
                ));
            }
        }
        let mut counts: BTreeMap<&crate::domain::identity::RoleName, u32> = BTreeMap::new();
        for role in &delta.active {
            *counts.entry(role).or_default() += 1;
        }
        for (n, (role, added)) in counts.into_iter().enumerate() {
            sets.push(format!(
                "#s.#abr.#a{n} = if_not_exists(#s.#abr.#a{n}, :zero) + :a{n}"
            ));
            names.push((format!("#a{n}"), role.to_string()));
            values.push((format!(":a{n}"), AttributeValue::N(added.to_string())));
        }
        for (n, (role, rights)) in delta.rights.iter().enumerate() {
            conditions.push(format!("#s.#roles.#r{n} = :r{n}"));
            names.push((format!("#r{n}"), role.to_string()));
            values.push((format!(":r{n}"), to_value(rights)?));
        }
        let set = format!("SET {}", sets.join(", "));
        let condition = conditions.join(" AND ");
        // DynamoDB refuses a name or value the expressions do not use.
        let used = |placeholder: &str| {
            [&set, &condition].iter().any(|text| {
                text.match_indices(placeholder).any(|(at, _)| {
                    !text[at + placeholder.len()..]
                        .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                })
            })
        };
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk.to_owned(), SUB_SK.to_owned())))
            .update_expression(set.clone())
            .condition_expression(condition.clone());
        for (placeholder, name) in names.into_iter().filter(|(p, _)| used(p)) {
            update = update.expression_attribute_names(placeholder, name);
        }
        for (placeholder, value) in values.into_iter().filter(|(p, _)| used(p)) {
            update = update.expression_attribute_values(placeholder, value);
        }
        update.build().map_err(built)
    }
}
