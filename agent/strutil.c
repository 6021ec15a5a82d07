/* placeholder */ typedef int keyrevoke_placeholder_strutil;
