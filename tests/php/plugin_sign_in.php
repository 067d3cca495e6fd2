<?php
/**
 * Runs the plugin's "Open Storeflow" request (includes/sign_in.php) without WordPress against a
 * running Storeflow: WordPress's HTTP functions are stood in for by PHP's own http stream, the
 * rest is the plugin's code. Reads {url, store_id, secret, user_id, email} as JSON on stdin and
 * prints {"target": URL} or {"error": message}, for tests/test_wordpress_plugin.py.
 */

define( 'STOREFLOW_PURE', true );

class WP_Error {
	private $message;
	public function __construct( $code, $message ) {
		$this->message = $message;
	}
	public function get_error_message() {
		return $this->message;
	}
}

function is_wp_error( $value ) {
	return $value instanceof WP_Error;
}

function __( $text, $domain ) {
	return $text;
}

function untrailingslashit( $value ) {
	return rtrim( $value, '/\\' );
}

function wp_remote_post( $url, array $args ) {
	$headers = '';
	foreach ( $args['headers'] as $name => $value ) {
		$headers .= "$name: $value\r\n";
	}
	$context = stream_context_create(
		array(
			'http' => array(
				'method'        => 'POST',
				'header'        => $headers,
				'content'       => $args['body'],
				'timeout'       => $args['timeout'],
				'ignore_errors' => true,
			),
		)
	);
	$body = file_get_contents( $url, false, $context );
	preg_match( '#^HTTP/\S+ (\d+)#', $http_response_header[0], $status );
	return array( 'body' => $body, 'response' => array( 'code' => (int) $status[1] ) );
}

function wp_remote_retrieve_body( $response ) {
	return $response['body'];
}

function wp_remote_retrieve_response_code( $response ) {
	return $response['response']['code'];
}

require __DIR__ . '/../../connectors/woocommerce/wordpress-plugin/storeflow/includes/payload.php';
require __DIR__ . '/../../connectors/woocommerce/wordpress-plugin/storeflow/includes/sign_in.php';

$in     = json_decode( stream_get_contents( STDIN ), true );
$target = storeflow_request_sign_in( $in, $in['user_id'], $in['email'] );
echo storeflow_json( is_wp_error( $target ) ? array( 'error' => $target->get_error_message() ) : array( 'target' => $target ) );
