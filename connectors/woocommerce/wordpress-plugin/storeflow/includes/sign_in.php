<?php
/**
 * "Open Storeflow": one click from the WordPress admin into Storeflow's settings, signed in.
 *
 * The button posts to admin-post.php (nonce and the manage_woocommerce capability checked);
 * the plugin then asks Storeflow, server to server, for a sign-in link for this store and this
 * WordPress user (a request signed with the store's secret, fresh and used once), and sends the
 * browser there. The link works once, for a minute.
 *
 * @package Storeflow
 */

defined( 'STOREFLOW_PURE' ) || defined( 'ABSPATH' ) || exit;

/** Ask Storeflow for a sign-in link; the URL to send the browser to, or a WP_Error. */
function storeflow_request_sign_in( array $settings, $user_id, $email ) {
	$body     = storeflow_sign_in_body( $settings['store_id'], $user_id, $email, time(), bin2hex( random_bytes( 16 ) ) );
	$response = wp_remote_post(
		untrailingslashit( $settings['url'] ) . '/sign-in/wordpress',
		array(
			'body'    => $body,
			'headers' => array(
				'Content-Type'          => 'application/json',
				'X-Storeflow-Signature' => storeflow_signature( $settings['secret'], $body ),
			),
			'timeout' => 10,
		)
	);
	$target = storeflow_sign_in_target( $settings['url'], json_decode( wp_remote_retrieve_body( $response ), true ) );
	if ( 200 !== wp_remote_retrieve_response_code( $response ) || null === $target ) {
		return new WP_Error( 'storeflow', __( 'Storeflow did not open a session. Check that the store is connected (Connect to Storeflow) and that this server\'s clock is right.', 'storeflow' ) );
	}
	return $target;
}

/** Admin hooks: the button's action. */
function storeflow_sign_in_hooks() {
	add_action( 'admin_post_storeflow_open', 'storeflow_open' );
}

/** The button: check who asks, get a link, and go there. */
function storeflow_open() {
	if ( ! current_user_can( 'manage_woocommerce' ) ) {
		wp_die( esc_html__( 'Not allowed.', 'storeflow' ), 403 );
	}
	check_admin_referer( 'storeflow_open' );
	if ( ! storeflow_connected() ) {
		wp_die( esc_html__( 'Connect to Storeflow first.', 'storeflow' ), 400 );
	}
	$user   = wp_get_current_user();
	$target = storeflow_request_sign_in( storeflow_settings(), $user->ID, $user->user_email );
	if ( is_wp_error( $target ) ) {
		wp_die( esc_html( $target->get_error_message() ), 502 );
	}
	// phpcs:ignore WordPress.Security.SafeRedirect.wp_redirect_wp_redirect -- Storeflow's own address, as the merchant saved it.
	wp_redirect( $target );
	exit;
}
