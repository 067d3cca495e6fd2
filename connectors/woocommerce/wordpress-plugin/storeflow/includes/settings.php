<?php
/**
 * WooCommerce > Storeflow: connect the store, and choose what the plugin collects.
 *
 * "Connect to Storeflow" sends the merchant through Storeflow's install, which asks
 * WooCommerce for REST API keys; back here, the plugin proves to Storeflow that it holds those
 * keys and receives the store id and signing secret it sends events with.
 *
 * @package Storeflow
 */

defined( 'ABSPATH' ) || exit;

/** Admin hooks: the menu entry and the settings form. */
function storeflow_settings_hooks() {
	add_action(
		'admin_menu',
		function () {
			add_submenu_page( 'woocommerce', 'Storeflow', 'Storeflow', 'manage_woocommerce', 'storeflow', 'storeflow_settings_page' );
		}
	);
	add_action( 'admin_post_storeflow_save', 'storeflow_save_settings' );
}

/** Save the form (the secret only when a new one is typed: it is never shown back). */
function storeflow_save_settings() {
	if ( ! current_user_can( 'manage_woocommerce' ) ) {
		wp_die( esc_html__( 'Not allowed.', 'storeflow' ), 403 );
	}
	check_admin_referer( 'storeflow_save' );
	$settings = storeflow_settings();
	$url      = esc_url_raw( wp_unslash( $_POST['url'] ?? '' ), array( 'https' ) );
	$settings = array_merge(
		$settings,
		array(
			'url'           => untrailingslashit( $url ),
			'store_id'      => absint( $_POST['store_id'] ?? 0 ),
			'collect_key'   => sanitize_text_field( wp_unslash( $_POST['collect_key'] ?? '' ) ),
			'track_carts'   => ! empty( $_POST['track_carts'] ),
			'capture_email' => ! empty( $_POST['capture_email'] ),
			'opt_in'        => ! empty( $_POST['opt_in'] ),
			'opt_in_label'  => sanitize_text_field( wp_unslash( $_POST['opt_in_label'] ?? '' ) ),
			'tracker'       => ! empty( $_POST['tracker'] ),
		)
	);
	$secret = sanitize_text_field( wp_unslash( $_POST['secret'] ?? '' ) );
	if ( '' !== $secret ) {
		$settings['secret'] = $secret;
	}
	update_option( STOREFLOW_OPTION, $settings, false );
	wp_safe_redirect( admin_url( 'admin.php?page=storeflow&saved=1' ) );
	exit;
}

/** Back from WooCommerce's approval screen: fetch the store id and secret from Storeflow. */
function storeflow_handshake() {
	global $wpdb;
	$settings = storeflow_settings();
	// WooCommerce names the keys it made for us "Storeflow - API (date)"; the newest is ours.
	$secret = $wpdb->get_var( $wpdb->prepare( "SELECT consumer_secret FROM {$wpdb->prefix}woocommerce_api_keys WHERE description LIKE %s ORDER BY key_id DESC LIMIT 1", $wpdb->esc_like( 'Storeflow - API' ) . '%' ) );
	if ( ! $secret || '' === $settings['url'] ) {
		return new WP_Error( 'storeflow', __( 'No Storeflow API key was found. Try connecting again.', 'storeflow' ) );
	}
	$body     = storeflow_handshake_body( home_url(), time() );
	$response = wp_remote_post(
		$settings['url'] . '/install/woocommerce/handshake',
		array(
			'body'    => $body,
			'headers' => array(
				'Content-Type'          => 'application/json',
				'X-Storeflow-Signature' => storeflow_signature( $secret, $body ),
			),
			'timeout' => 10,
		)
	);
	$answer = json_decode( wp_remote_retrieve_body( $response ), true );
	if ( 200 !== wp_remote_retrieve_response_code( $response ) || empty( $answer['store_id'] ) ) {
		return new WP_Error( 'storeflow', __( 'Storeflow did not confirm the connection. Try again in a minute.', 'storeflow' ) );
	}
	$settings['store_id']    = (int) $answer['store_id'];
	$settings['secret']      = (string) $answer['webhook_secret'];
	$settings['collect_key'] = (string) $answer['collect_key'];
	update_option( STOREFLOW_OPTION, $settings, false );
	return true;
}

/** The settings screen. */
function storeflow_settings_page() {
	if ( ! current_user_can( 'manage_woocommerce' ) ) {
		return;
	}
	$result = null;
	// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- WooCommerce's return_url, read-only check.
	if ( isset( $_GET['success'] ) && '1' === $_GET['success'] ) {
		$result = storeflow_handshake();
	}
	$settings = storeflow_settings();
	$connect  = '' !== $settings['url'] ? add_query_arg( 'store', rawurlencode( home_url() ), $settings['url'] . '/install/woocommerce' ) : '';
	?>
	<div class="wrap">
		<h1>Storeflow</h1>
		<?php if ( is_wp_error( $result ) ) : ?>
			<div class="notice notice-error"><p><?php echo esc_html( $result->get_error_message() ); ?></p></div>
		<?php elseif ( true === $result ) : ?>
			<div class="notice notice-success"><p><?php esc_html_e( 'Connected to Storeflow.', 'storeflow' ); ?></p></div>
		<?php endif; ?>
		<p>
			<?php if ( storeflow_connected() ) : ?>
				<?php /* translators: %d: the store's id in Storeflow */ ?>
				<?php echo esc_html( sprintf( __( 'Connected as Storeflow store %d.', 'storeflow' ), $settings['store_id'] ) ); ?>
			<?php endif; ?>
		</p>
		<?php if ( storeflow_connected() ) : ?>
			<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
				<input type="hidden" name="action" value="storeflow_open">
				<?php wp_nonce_field( 'storeflow_open' ); ?>
				<?php submit_button( __( 'Open Storeflow', 'storeflow' ), 'primary', 'submit', false ); ?>
			</form>
		<?php endif; ?>
		<p>
			<?php if ( $connect ) : ?>
				<a class="button button-primary" href="<?php echo esc_url( $connect ); ?>"><?php esc_html_e( 'Connect to Storeflow', 'storeflow' ); ?></a>
			<?php else : ?>
				<?php esc_html_e( 'Enter your Storeflow address and save, then connect.', 'storeflow' ); ?>
			<?php endif; ?>
		</p>
		<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
			<input type="hidden" name="action" value="storeflow_save">
			<?php wp_nonce_field( 'storeflow_save' ); ?>
			<table class="form-table" role="presentation">
				<tr><th><label for="storeflow-url"><?php esc_html_e( 'Storeflow address (https)', 'storeflow' ); ?></label></th>
					<td><input id="storeflow-url" name="url" type="url" class="regular-text" value="<?php echo esc_attr( $settings['url'] ); ?>" placeholder="https://storeflow.example.com"></td></tr>
				<tr><th><label for="storeflow-store"><?php esc_html_e( 'Store id', 'storeflow' ); ?></label></th>
					<td><input id="storeflow-store" name="store_id" type="number" value="<?php echo esc_attr( $settings['store_id'] ); ?>"></td></tr>
				<tr><th><label for="storeflow-secret"><?php esc_html_e( 'Signing secret', 'storeflow' ); ?></label></th>
					<td><input id="storeflow-secret" name="secret" type="password" class="regular-text" autocomplete="off" placeholder="<?php echo $settings['secret'] ? esc_attr__( '(saved; type to replace)', 'storeflow' ) : ''; ?>">
					<p class="description"><?php esc_html_e( 'Filled in by Connect; or the webhook secret `storeflow store add woocommerce` printed.', 'storeflow' ); ?></p></td></tr>
				<tr><th><label for="storeflow-key"><?php esc_html_e( 'Collect key (public)', 'storeflow' ); ?></label></th>
					<td><input id="storeflow-key" name="collect_key" type="text" class="regular-text" value="<?php echo esc_attr( $settings['collect_key'] ); ?>"></td></tr>
				<tr><th><?php esc_html_e( 'Collect', 'storeflow' ); ?></th><td>
					<label><input name="track_carts" type="checkbox" <?php checked( $settings['track_carts'] ); ?>> <?php esc_html_e( 'Cart contents, with a link that restores the cart', 'storeflow' ); ?></label><br>
					<label><input name="capture_email" type="checkbox" <?php checked( $settings['capture_email'] ); ?>> <?php esc_html_e( 'The checkout email as it is typed', 'storeflow' ); ?></label><br>
					<label><input name="tracker" type="checkbox" <?php checked( $settings['tracker'] ); ?>> <?php esc_html_e( 'Product views with storeflow.js (needs your consent banner to call storeflow.consent(true))', 'storeflow' ); ?></label>
				</td></tr>
				<tr><th><?php esc_html_e( 'Marketing opt-in', 'storeflow' ); ?></th><td>
					<label><input name="opt_in" type="checkbox" <?php checked( $settings['opt_in'] ); ?>> <?php esc_html_e( 'Show an unticked opt-in checkbox at checkout', 'storeflow' ); ?></label><br>
					<input name="opt_in_label" type="text" class="regular-text" value="<?php echo esc_attr( $settings['opt_in_label'] ); ?>">
				</td></tr>
			</table>
			<?php submit_button(); ?>
		</form>
	</div>
	<?php
}
