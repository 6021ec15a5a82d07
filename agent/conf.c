/* placeholder */ typedef int keyrevoke_placeholder_conf;
