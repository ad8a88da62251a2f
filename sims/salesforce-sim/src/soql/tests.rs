use super::*;

fn p(s: &str) -> Query {
    parse(s).unwrap_or_else(|e| panic!("{s}: {e:?}"))
}

#[test]
fn parses_select_list_with_relationships() {
    let q = p("SELECT Id, Name, Owner.Email FROM Account");
    assert_eq!(q.from, "Account");
    assert_eq!(q.fields.len(), 3);
    assert_eq!(q.fields[2].parts, vec!["Owner", "Email"]);
    assert_eq!(q.fields[2].col, 18);
}

#[test]
fn parses_where_with_precedence_and_parentheses() {
    let q = p("select Id from Contact where A = 'x' or B = 1 and not C = null");
    match q.filter.unwrap() {
        Expr::Or(_, right) => assert!(matches!(*right, Expr::And(_, _))),
        other => panic!("{other:?}"),
    }
    let q = p("SELECT Id FROM Contact WHERE (A = 'x' OR B = 1) AND C != null");
    assert!(matches!(q.filter.unwrap(), Expr::And(_, _)));
}

#[test]
fn parses_every_literal_kind() {
    let q = p(
        "SELECT Id FROM X WHERE A = 'it\\'s' AND B = 1.5 AND C = TRUE AND D = 2024-01-02 \
               AND E > 2024-05-01T10:00:00Z AND F < 2024-05-01T10:00:00+02:00 AND G = LAST_N_DAYS:7 \
               AND H IN ('a', 'b') AND I NOT IN (1, 2) AND J LIKE 'Ac%' AND K INCLUDES ('a;b', 'c') AND L = -3",
    );
    let mut lits = Vec::new();
    fn walk(e: &Expr, out: &mut Vec<Literal>) {
        match e {
            Expr::And(a, b) | Expr::Or(a, b) => {
                walk(a, out);
                walk(b, out);
            }
            Expr::Not(a) => walk(a, out),
            Expr::Cmp(_, _, l) => out.push(l.clone()),
            Expr::In(_, ls, _) | Expr::Includes(_, ls, _) => out.extend(ls.iter().cloned()),
        }
    }
    walk(&q.filter.unwrap(), &mut lits);
    assert_eq!(lits[0], Literal::String("it's".into()));
    assert_eq!(lits[1], Literal::Number(1.5));
    assert_eq!(lits[2], Literal::Bool(true));
    assert!(matches!(lits[3], Literal::Date(_)));
    assert!(matches!(lits[4], Literal::DateTime(_)));
    match (&lits[4], &lits[5]) {
        (Literal::DateTime(a), Literal::DateTime(b)) => {
            assert_eq!(*a - *b, time::Duration::hours(2))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(lits[6], Literal::DateFn("LAST_N_DAYS".into(), Some(7)));
    assert_eq!(*lits.last().unwrap(), Literal::Number(-3.0));
}

#[test]
fn parses_order_limit_offset_and_count() {
    let q = p(
        "SELECT Id FROM Account ORDER BY SystemModstamp ASC, Name DESC NULLS FIRST LIMIT 10 OFFSET 5",
    );
    assert_eq!(q.order_by.len(), 2);
    assert!(!q.order_by[0].desc && q.order_by[0].nulls_first);
    assert!(q.order_by[1].desc && q.order_by[1].nulls_first);
    assert_eq!((q.limit, q.offset), (Some(10), Some(5)));
    let q = p("SELECT COUNT() FROM Account WHERE Name LIKE 'A%'");
    assert!(q.count && q.fields.is_empty());
}

#[test]
fn rejects_unsupported_syntax_with_column() {
    let cases = [
        (
            "SELECT Id FROM Account WHERE",
            "unexpected token: <EOF>",
            29,
        ),
        ("SELECT Id, FROM Account", "unexpected token: 'FROM'", 12),
        (
            "SELECT Id FROM Account GROUP BY Name",
            "unexpected token: 'GROUP'",
            24,
        ),
        (
            "SELECT MAX(Amount) FROM Opportunity",
            "unexpected token: '('",
            11,
        ),
        (
            "SELECT Id FROM Account WHERE Name = 'x",
            "unexpected token: <EOF>",
            39,
        ),
        (
            "SELECT Id FROM Account LIMIT x",
            "unexpected token: 'x'",
            30,
        ),
    ];
    for (q, msg, col) in cases {
        let e = parse(q).expect_err(q);
        assert_eq!((e.message.as_str(), e.col), (msg, col), "{q}");
    }
}
