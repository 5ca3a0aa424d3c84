dist_man_MANS += man/berth.8
