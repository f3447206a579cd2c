use instant_macros::{schema, Entity};

#[derive(Entity)]
pub struct Goal {
    #[instant(indexed)]
    pub title: String,
}

#[derive(Entity)]
pub struct Todo {
    pub title: String,
}

schema! {
    entities {
        goals: Goal,
        todos: Todo,
    }
    links {
        goalTodos: goals.todos (many) <-> todos.title (many),
    }
}

fn main() {}
