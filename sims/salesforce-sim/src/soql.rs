//! A SOQL parser for the subset the simulator answers: SELECT fields (with relationship
//! paths) or COUNT(), FROM, WHERE with AND/OR/NOT, comparisons, IN/NOT IN, LIKE,
//! INCLUDES/EXCLUDES, literals of every kind, ORDER BY, LIMIT, OFFSET.

use time::{Date, OffsetDateTime};

use crate::clock;

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Date(Date),
    DateTime(OffsetDateTime),
    /// `TODAY`, `LAST_N_DAYS:7`, … (name upper-cased, optional n).
    DateFn(String, Option<i64>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
}

/// A field path as written (`Owner.Email`), with the column where it starts (1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub parts: Vec<String>,
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(Path, Op, Literal),
    In(Path, Vec<Literal>, bool),
    Includes(Path, Vec<Literal>, bool),
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub path: Path,
    pub desc: bool,
    pub nulls_first: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Empty with `count` set for `SELECT COUNT()`.
    pub fields: Vec<Path>,
    pub count: bool,
    pub from: String,
    pub from_col: usize,
    pub filter: Option<Expr>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// A syntax error with the 1-based column it was found at.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub message: String,
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Date(Date),
    DateTime(OffsetDateTime),
    Comma,
    Dot,
    LParen,
    RParen,
    Colon,
    Op(&'static str),
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    col: usize,
    text: String,
}

fn lex(src: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let tok = match c {
            ',' => {
                i += 1;
                Tok::Comma
            }
            '.' => {
                i += 1;
                Tok::Dot
            }
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            ':' => {
                i += 1;
                Tok::Colon
            }
            '=' => {
                i += 1;
                Tok::Op("=")
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                i += 2;
                Tok::Op("!=")
            }
            '<' => match chars.get(i + 1) {
                Some('=') => {
                    i += 2;
                    Tok::Op("<=")
                }
                Some('>') => {
                    i += 2;
                    Tok::Op("!=")
                }
                _ => {
                    i += 1;
                    Tok::Op("<")
                }
            },
            '>' => {
                if chars.get(i + 1) == Some(&'=') {
                    i += 2;
                    Tok::Op(">=")
                } else {
                    i += 1;
                    Tok::Op(">")
                }
            }
            '\'' => {
                i += 1;
                let mut s = String::new();
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(ParseError {
                                message: "unexpected token: <EOF>".into(),
                                col: chars.len() + 1,
                            });
                        }
                        Some('\\') => {
                            let esc = chars.get(i + 1).copied().unwrap_or('\\');
                            s.push(match esc {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                other => other,
                            });
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                Tok::Str(s)
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric()
                        || matches!(chars[i], '-' | ':' | '.' | '+'))
                {
                    // A '-' or '+' only continues a date/time literal.
                    if matches!(chars[i], '-' | '+')
                        && !(i - start >= 4 && looks_dateish(&chars[start..i]))
                    {
                        break;
                    }
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                if let Ok(n) = text.parse::<f64>() {
                    Tok::Num(n)
                } else if let Some(d) = clock::parse_date(&text) {
                    Tok::Date(d)
                } else if let Some(t) = clock::parse_datetime(&text) {
                    Tok::DateTime(t)
                } else {
                    return Err(ParseError {
                        message: format!("unexpected token: '{text}'"),
                        col,
                    });
                }
            }
            c if c.is_alphabetic() || c == '_' => {
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                Tok::Ident(chars[start..i].iter().collect())
            }
            other => {
                return Err(ParseError {
                    message: format!("unexpected token: '{other}'"),
                    col,
                });
            }
        };
        out.push(Token {
            tok,
            col,
            text: chars[start..i].iter().collect(),
        });
    }
    out.push(Token {
        tok: Tok::Eof,
        col: chars.len() + 1,
        text: "<EOF>".into(),
    });
    Ok(out)
}

fn looks_dateish(prefix: &[char]) -> bool {
    prefix.len() >= 4 && prefix[..4].iter().all(char::is_ascii_digit)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
}

const RESERVED: &[&str] = &[
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT", "OFFSET",
    "ASC", "DESC", "NULLS", "FIRST", "LAST", "NULL", "TRUE", "FALSE", "INCLUDES", "EXCLUDES",
    "GROUP", "HAVING", "WITH", "FOR", "USING", "TYPEOF",
];

impl Parser {
    fn peek(&self) -> &Token {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn unexpected(&self) -> ParseError {
        let t = self.peek();
        let shown = if t.tok == Tok::Eof {
            "<EOF>".to_string()
        } else {
            format!("'{}'", t.text)
        };
        ParseError {
            message: format!("unexpected token: {shown}"),
            col: t.col,
        }
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.next();
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), ParseError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect(&mut self, tok: Tok) -> Result<(), ParseError> {
        if self.peek().tok == tok {
            self.next();
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn ident(&mut self) -> Result<(String, usize), ParseError> {
        match &self.peek().tok {
            Tok::Ident(s) if !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s)) => {
                let s = s.clone();
                let col = self.next().col;
                Ok((s, col))
            }
            _ => Err(self.unexpected()),
        }
    }

    fn path(&mut self) -> Result<Path, ParseError> {
        let (first, col) = self.ident()?;
        let mut parts = vec![first];
        while self.peek().tok == Tok::Dot {
            self.next();
            parts.push(self.ident()?.0);
        }
        Ok(Path { parts, col })
    }

    fn query(&mut self) -> Result<Query, ParseError> {
        self.expect_kw("SELECT")?;
        let mut fields = Vec::new();
        let mut count = false;
        if self.is_kw("COUNT")
            && self
                .toks
                .get(self.pos + 1)
                .is_some_and(|t| t.tok == Tok::LParen)
        {
            self.next();
            self.expect(Tok::LParen)?;
            self.expect(Tok::RParen)?;
            count = true;
        } else {
            loop {
                fields.push(self.path()?);
                if self.peek().tok == Tok::LParen {
                    return Err(self.unexpected());
                }
                if self.peek().tok != Tok::Comma {
                    break;
                }
                self.next();
            }
        }
        self.expect_kw("FROM")?;
        let (from, from_col) = self.ident()?;
        let filter = if self.eat_kw("WHERE") {
            Some(self.or_expr()?)
        } else {
            None
        };
        let mut order_by = Vec::new();
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            loop {
                let path = self.path()?;
                let desc = if self.eat_kw("DESC") {
                    true
                } else {
                    self.eat_kw("ASC");
                    false
                };
                let mut nulls_first = !desc;
                if self.eat_kw("NULLS") {
                    if self.eat_kw("FIRST") {
                        nulls_first = true;
                    } else {
                        self.expect_kw("LAST")?;
                        nulls_first = false;
                    }
                }
                order_by.push(OrderItem {
                    path,
                    desc,
                    nulls_first,
                });
                if self.peek().tok != Tok::Comma {
                    break;
                }
                self.next();
            }
        }
        let limit = if self.eat_kw("LIMIT") {
            Some(self.count_value()?)
        } else {
            None
        };
        let offset = if self.eat_kw("OFFSET") {
            Some(self.count_value()?)
        } else {
            None
        };
        if self.peek().tok != Tok::Eof {
            return Err(self.unexpected());
        }
        Ok(Query {
            fields,
            count,
            from,
            from_col,
            filter,
            order_by,
            limit,
            offset,
        })
    }

    fn count_value(&mut self) -> Result<usize, ParseError> {
        match self.peek().tok {
            Tok::Num(n) if n >= 0.0 && n.fract() == 0.0 => {
                self.next();
                Ok(n as usize)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and_expr()?;
        while self.eat_kw("OR") {
            let right = self.and_expr()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        while self.eat_kw("AND") {
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat_kw("NOT") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek().tok == Tok::LParen {
            self.next();
            let e = self.or_expr()?;
            self.expect(Tok::RParen)?;
            return Ok(e);
        }
        self.condition()
    }

    fn condition(&mut self) -> Result<Expr, ParseError> {
        let path = self.path()?;
        if self.eat_kw("NOT") {
            self.expect_kw("IN")?;
            return Ok(Expr::In(path, self.list()?, true));
        }
        if self.eat_kw("IN") {
            return Ok(Expr::In(path, self.list()?, false));
        }
        if self.eat_kw("INCLUDES") {
            return Ok(Expr::Includes(path, self.list()?, false));
        }
        if self.eat_kw("EXCLUDES") {
            return Ok(Expr::Includes(path, self.list()?, true));
        }
        let op = if self.eat_kw("LIKE") {
            Op::Like
        } else {
            match self.peek().tok {
                Tok::Op(o) => {
                    self.next();
                    match o {
                        "=" => Op::Eq,
                        "!=" => Op::Ne,
                        "<" => Op::Lt,
                        "<=" => Op::Le,
                        ">" => Op::Gt,
                        _ => Op::Ge,
                    }
                }
                _ => return Err(self.unexpected()),
            }
        };
        Ok(Expr::Cmp(path, op, self.literal()?))
    }

    fn list(&mut self) -> Result<Vec<Literal>, ParseError> {
        self.expect(Tok::LParen)?;
        let mut out = vec![self.literal()?];
        while self.peek().tok == Tok::Comma {
            self.next();
            out.push(self.literal()?);
        }
        self.expect(Tok::RParen)?;
        Ok(out)
    }

    fn literal(&mut self) -> Result<Literal, ParseError> {
        let t = self.peek().clone();
        let lit = match &t.tok {
            Tok::Str(s) => Literal::String(s.clone()),
            Tok::Num(n) => Literal::Number(*n),
            Tok::Date(d) => Literal::Date(*d),
            Tok::DateTime(dt) => Literal::DateTime(*dt),
            Tok::Ident(s) if s.eq_ignore_ascii_case("null") => Literal::Null,
            Tok::Ident(s) if s.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Tok::Ident(s) if s.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Tok::Ident(s) if is_date_fn(s) => {
                let name = s.to_ascii_uppercase();
                self.next();
                let n = if self.peek().tok == Tok::Colon {
                    self.next();
                    match self.peek().tok {
                        Tok::Num(n) if n.fract() == 0.0 => Some(n as i64),
                        _ => return Err(self.unexpected()),
                    }
                } else {
                    None
                };
                if n.is_some() {
                    self.next();
                }
                if name.contains("_N_") != n.is_some() {
                    return Err(ParseError {
                        message: format!("unexpected token: '{}'", t.text),
                        col: t.col,
                    });
                }
                return Ok(Literal::DateFn(name, n));
            }
            _ => return Err(self.unexpected()),
        };
        self.next();
        Ok(lit)
    }
}

fn is_date_fn(s: &str) -> bool {
    matches!(
        s.to_ascii_uppercase().as_str(),
        "TODAY" | "YESTERDAY" | "TOMORROW" | "LAST_N_DAYS" | "NEXT_N_DAYS"
    )
}

/// Parses one SOQL statement.
pub fn parse(src: &str) -> Result<Query, ParseError> {
    let toks = lex(src)?;
    let mut p = Parser { toks, pos: 0 };
    p.query()
}

#[cfg(test)]
mod tests;
