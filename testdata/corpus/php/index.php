<?php
// The corpus's PHP application, run by PHP-FPM behind Caddy's php_fastcgi.
switch (parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH)) {
case '/php/empty409':
	http_response_code(409);
	break;
case '/php/text409':
	http_response_code(409);
	echo "Order 42 is at version 7; you edited version 6.";
	break;
case '/php/plain409':
	http_response_code(409);
	header('Content-Type: text/plain; charset=utf-8');
	echo "Order 42 is at version 7; you edited version 6.\n";
	break;
case '/php/json409':
	http_response_code(409);
	header('Content-Type: application/json');
	echo json_encode(['error' => 'conflict', 'current_version' => 7]);
	break;
default:
	http_response_code(404);
}
