<?php // chat.php - the room logic of /app/php/room/{id}, as an application hook (docs/hooks.md)
$in = json_decode(file_get_contents('php://input'), true);
header('Content-Type: application/json');
if (!preg_match('#^/app/php/room/([a-z0-9-]+)(/enter)?$#', $in['destination'], $m)) {
	echo json_encode(['error' => "no such room action: {$in['destination']}"]);
	exit;
}
$topic = "/topic/php/room/$m[1]";
if ($in['type'] === 'SUBSCRIBE') { // @SubscribeMapping: a reply to this subscription, a notice to the room
	echo json_encode(['messages' => [
		['body' => ['type' => 'WELCOME', 'room' => $m[1]]],
		['destination' => $topic, 'body' => ['type' => 'ENTER', 'user' => $in['user']]]]]);
	exit;
}
$text = json_decode($in['body'], true)['text'] ?? '';
if (preg_match('/\bdarn\b/i', $text)) { // @MessageMapping with the room's filter
	echo json_encode(['error' => 'message refused by the room filter']);
	exit;
}
echo json_encode(['messages' => [
	['destination' => $topic, 'body' => ['user' => $in['user'], 'text' => $text]],
	['destination' => '/user/queue/php', 'body' => 'posted', 'headers' => ['content-type' => 'text/plain']]]]);
