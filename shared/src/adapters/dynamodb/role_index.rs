//! The `role` index: a tenant's active users of one role (`role_pk` on the user's item), read
//! by the changes that mail the managers (decision 0014).

use crate::adapters::dynamodb::items::UserItem;
use crate::adapters::dynamodb::keys::role_pk;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::adapters::dynamodb::{
    DynamoStore, backend, condition_failed, from_item, key, s, schema,
};
use crate::domain::identity::{RoleName, TenantId};
use crate::domain::rights::plain_user;
use crate::domain::user::User;
use crate::ports::{RoleMembers, StoreError};

impl RoleMembers for DynamoStore {
    /// One Query per role, at once; in the order of the roles, each by user id. The built-in
    /// `user` role is not indexed: a tenant that grants it `licences.manage` makes every user
    /// a manager, and its users are read from the table (every user, as before the index).
    async fn active_in_roles(
        &self,
        tenant: &TenantId,
        roles: &[RoleName],
    ) -> Result<Vec<User>, StoreError> {
        let reads = futures::future::join_all(roles.iter().map(|role| {
            let query = if *role == plain_user() {
                self.prefix_query(tenant, "U#")
            } else {
                self.client
                    .query()
                    .table_name(&self.table)
                    .index_name(schema::ROLE_INDEX)
                    .key_condition_expression("role_pk = :r")
                    .expression_attribute_values(":r", s(role_pk(tenant, role)))
            };
            self.query_all(query)
        }))
        .await;
        let mut users = Vec::new();
        for read in reads {
            for item in read? {
                let user = from_item::<UserItem>(item)?.user;
                // The index lags its table: a user deactivated a moment ago may still be there.
                if user.active && roles.contains(&user.role) {
                    users.push(user);
                }
            }
        }
        Ok(users)
    }
}

impl DynamoStore {
    /// Puts every active user written before decision 0014 in the `role` index (a table
    /// deployed earlier; `provision --index-users`): one Scan of the users without `role_pk`,
    /// and an update of each on condition that it is still active in the role read, so a
    /// newer write is never overwritten. How many it indexed.
    pub async fn index_users(&self) -> Result<usize, StoreError> {
        let mut start = None;
        let mut indexed = 0;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(
                    "begins_with(sk, :u) AND attribute_not_exists(role_pk) AND #user.active = :t AND #user.#role <> :plain",
                )
                .expression_attribute_names("#user", "user")
                .expression_attribute_names("#role", "role")
                .expression_attribute_values(":plain", s(plain_user().to_string()))
                .expression_attribute_values(":u", s("U#"))
                .expression_attribute_values(":t", AttributeValue::Bool(true))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend)?;
            for item in out.items() {
                let read = from_item::<UserItem>(item.clone())?;
                let tenant = read.pk.strip_prefix("T#").unwrap_or(&read.pk);
                let tenant =
                    TenantId::parse(tenant).map_err(|e| StoreError::Backend(e.to_string()))?;
                let update = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key(read.pk.clone(), read.sk.clone())))
                    .update_expression("SET role_pk = :r")
                    .condition_expression(
                        "attribute_not_exists(role_pk) AND #user.active = :t AND #user.#role = :role",
                    )
                    .expression_attribute_names("#user", "user")
                    .expression_attribute_names("#role", "role")
                    .expression_attribute_values(":r", s(role_pk(&tenant, &read.user.role)))
                    .expression_attribute_values(":t", AttributeValue::Bool(true))
                    .expression_attribute_values(":role", s(read.user.role.to_string()))
                    .send()
                    .await;
                match update {
                    Ok(_) => indexed += 1,
                    Err(err) if condition_failed(&err) => {}
                    Err(err) => return Err(backend(err)),
                }
            }
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(indexed),
            }
        }
    }
}
