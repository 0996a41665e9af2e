<?php // faults.php - an application hook that fails in each way the server must survive (hooks.mjs)
$in = json_decode(file_get_contents('php://input'), true);
header('Content-Type: application/json');
switch (basename($in['destination'])) {
case 'fail': http_response_code(500); echo '{"error":"not reached"}'; break;
case 'badjson': echo '{"messages": [ {"destination": "/topic/php/half", "body": '; break;
case 'slow': sleep(8); echo '{}'; break;
case 'big': echo '{"messages":[{"destination":"/topic/php/half","body":"' . str_repeat('x', 2 << 20) . '"}]}'; break;
case 'half': // the first message is fine, the second is not allowed: neither may go out
	echo json_encode(['messages' => [['destination' => '/topic/php/half', 'body' => 'first'],
		['destination' => '/queue/elsewhere', 'body' => 'second']]]);
	break;
case 'echo': // SEND: the body to the topic; SUBSCRIBE: also the headers seen, to the subscriber
	$out = [['destination' => '/topic/php/half', 'body' => $in['body']]];
	if ($in['type'] === 'SUBSCRIBE')
		$out[] = ['body' => ['headers' => $in['headers'], 'user' => $in['user'], 'destination' => $in['destination']]];
	echo json_encode(['messages' => $out]);
	break;
case 'count': // one byte a call, in the temporary file the frame's x-log header names
	file_put_contents(sys_get_temp_dir() . '/' . basename($in['headers']['x-log']), 'x', FILE_APPEND);
	echo '{}';
	break;
default: echo json_encode(['error' => 'unknown fault']);
}
