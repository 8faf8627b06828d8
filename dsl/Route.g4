// The grammar of Route, Turnout's policy language. dsl/README.md is its reference.
//
// The grammar is deliberately permissive where a precise message helps more than a
// syntax error: upstream properties, phase names, assignment targets and the first
// operand of `redirect` are all plain expressions here, and the checker says what is
// wrong with them.
grammar Route;

program
    : topLevel* EOF
    ;

topLevel
    : importDecl
    | upstreamDecl
    | aclDecl
    | mapDecl
    | constDecl
    | funcDecl
    | phaseDecl
    | testDecl
    ;

importDecl   : 'import' STRING ';'? ;
upstreamDecl : 'upstream' name '{' (property ';'?)* '}' ;
property     : name '=' expr ;
// Entries are separated by commas: an entry cannot start where the one before might go on.
aclDecl      : 'acl' name '{' (aclEntry (',' aclEntry)* ','?)? '}' ;
aclEntry     : expr ;
mapDecl      : 'map' name '{' (mapEntry (',' mapEntry)* ','?)? '}' ;
mapEntry     : (key=expr | isDefault='default') '=>' value=expr ;
constDecl    : 'const' name (':' type)? '=' expr ';'? ;
funcDecl     : 'fn' name '(' (param (',' param)*)? ')' '->' type block ;
param        : name ':' type ;
phaseDecl    : 'on' name block ;
testDecl     : 'test' STRING '{' (testStmt ';'?)* '}' ;

type
    : (name | 'map' | 'acl') ('<' type (',' type)* '>')?
    ;

block : '{' (stmt ';'?)* '}' ;

stmt
    : ifStmt                                   # ifStatement
    | 'let' name (':' type)? '=' expr          # letStatement
    | 'delete' lvalue                          # deleteStatement
    | 'respond' status=statusCode body=expr?   # respondStatement
    | 'redirect' status=statusCode? location=expr # redirectStatement
    | 'route' expr                             # routeStatement
    | 'retry'                                  # retryStatement
    | 'return' expr?                           # returnStatement
    | target=lvalue '=' value=expr             # assignStatement
    ;

// A status before another operand is a number or a dotted name, never a longer expression,
// so that where the status ends is plain from the next token.
statusCode : INT | name ('.' name)* ;

// What a statement assigns or deletes. It starts with a name, so that no statement can
// begin like the tail of the expression before it: statements need no separators.
lvalue : name ('.' name | '[' expr ']')* ;

ifStmt : 'if' expr block ('else' (ifStmt | block))? ;

testStmt
    : 'request' method=name url=expr ('from' client=expr)?   # testRequest
    | 'header' key=expr '=' value=expr                      # testHeader
    | 'origin' 'header' key=expr '=' value=expr             # testOriginHeader
    | 'origin' status=statusCode body=STRING?               # testOrigin
    | 'tls' field=name ('.' name)* '=' value=expr           # testTls
    | 'expect' expectation                                  # testExpect
    ;

expectation
    : 'status' expr      # expectStatus
    | 'route' name       # expectRoute
    | 'redirect' expr    # expectRedirect
    | 'body' expr        # expectBody
    | expr               # expectCondition
    ;

expr
    : primary                                                    # primaryExpr
    | expr '.' name                                              # memberExpr
    | expr '[' expr ']'                                          # indexExpr
    | '-' expr                                                   # negateExpr
    | expr op=('*' | '/' | '%') expr                             # binaryExpr
    | expr op=('+' | '-') expr                                   # binaryExpr
    | expr op=('==' | '!=' | '<' | '<=' | '>' | '>=' | '~' | '!~'
              | 'in' | 'starts_with' | 'ends_with' | 'contains') expr  # binaryExpr
    | 'not' expr                                                 # notExpr
    | expr op='and' expr                                         # binaryExpr
    | expr op='or' expr                                          # binaryExpr
    ;

primary
    : literal                                       # literalPrimary
    | name '(' (argument (',' argument)*)? ')'      # callPrimary
    | name                                          # namePrimary
    | '(' expr ')'                                  # parenPrimary
    | '[' (listElement (',' listElement)*)? ','? ']' # listPrimary
    ;

// A trailing '%' makes a percentage: an upstream setting's (max_ejected = 50%).
argument    : (name '=')? expr percent='%'? ;
listElement : expr ('weight' weight=expr)? ;

literal
    : STRING | RAW_STRING | INT | DURATION | IPV4 | IPV6 | 'true' | 'false'
    ;

// Words that are keywords in one place only stay usable as names everywhere else.
name
    : IDENT | 'request' | 'header' | 'origin' | 'status' | 'body' | 'weight' | 'from'
    | 'upstream' | 'tls'
    ;

INT        : [0-9]+ ;
DURATION   : ([0-9]+ ('ms' | 'us' | 's' | 'm' | 'h' | 'd'))+ ;
IPV4       : [0-9]+ '.' [0-9]+ '.' [0-9]+ '.' [0-9]+ ('/' [0-9]+)? ;
IPV6       : HEX* ':' HEX* ':' (HEX | ':')* ('.' [0-9]+ '.' [0-9]+ '.' [0-9]+)? ('/' [0-9]+)? ;
RAW_STRING : 'r"' ~["]* '"' ;
STRING     : '"' (ESCAPE | ~["\\\r\n])* '"' ;
UNTERMINATED_STRING : '"' (ESCAPE | ~["\\\r\n])* ;
IDENT      : [a-zA-Z_] [a-zA-Z0-9_]* ;

// Comments stay in the token stream, off the parser's channel: the formatter keeps them.
LINE_COMMENT  : '//' ~[\r\n]* -> channel(HIDDEN) ;
BLOCK_COMMENT : '/*' .*? '*/' -> channel(HIDDEN) ;
WS            : [ \t\r\n]+ -> skip ;
UNKNOWN_CHAR  : . ;

fragment HEX    : [0-9a-fA-F] ;
fragment ESCAPE : '\\' . ;
